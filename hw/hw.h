/* tellonce hw — what a room is and what this machine has.
 *
 * A room profile (docs/rooms.md) names the cameras and microphones of an
 * interview room, their resolution, frame rate and bitrate, the segment
 * length, the encoder and the burned-in caption. The built-in `simulated`
 * room (test patterns with a running clock, synthesized speech over room
 * noise) stands in where there is no hardware: the demo and the tests.
 *
 * room.c is pure data (profiles, their canonical text and digest, speech);
 * devices.c talks to GStreamer: device discovery, encoder choice, and the
 * source bins capture/ links into its pipeline. Call gst_init before any
 * function of the second half.
 *
 * Ownership: tlo_hw_room is plain fixed-size data (copy it, no free). Device
 * lists and speech buffers are heap memory; each says how to release it. */
#ifndef TLO_HW_H
#define TLO_HW_H

#include <gst/gst.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tlo_common.h"

#define TLO_HW_MAX_CAMERAS 4
#define TLO_HW_MAX_MICROPHONES 2
#define TLO_HW_NAME_MAX 63             /* bytes of a room name (UTF-8) */
#define TLO_HW_SOURCE_MAX 255          /* bytes of a device name or path, or a pattern */
#define TLO_HW_PROFILE_MAX (64 * 1024) /* bytes of a profile file */
#define TLO_HW_DIGEST_BYTES 32
/* Enough for tlo_hw_room_describe of any valid room. */
#define TLO_HW_DESCRIBE_MAX 8192

/* Limits of docs/rooms.md; tlo_hw_room_check enforces them. */
#define TLO_HW_WIDTH_MIN 16
#define TLO_HW_WIDTH_MAX 7680
#define TLO_HW_HEIGHT_MIN 16
#define TLO_HW_HEIGHT_MAX 4320
#define TLO_HW_FPS_MIN 1
#define TLO_HW_FPS_MAX 120
#define TLO_HW_BITRATE_MIN 100 /* kbit/s */
#define TLO_HW_BITRATE_MAX 100000
#define TLO_HW_SEGMENT_MIN 1 /* seconds */
#define TLO_HW_SEGMENT_MAX 60
#define TLO_HW_SEGMENT_DEFAULT 4

typedef enum {
    TLO_HW_SOURCE_TEST,   /* camera: videotestsrc pattern named in .value */
    TLO_HW_SOURCE_DEVICE, /* camera or microphone: a device, .value = path or display name */
    TLO_HW_SOURCE_SPEECH, /* microphone: synthesized speech over room noise (simulated) */
    TLO_HW_SOURCE_TONE,   /* microphone: a 440 Hz tone (simulated) */
} tlo_hw_source_kind;

typedef struct tlo_hw_source {
    tlo_hw_source_kind kind;
    char value[TLO_HW_SOURCE_MAX + 1]; /* pattern or device; "" for speech and tone */
} tlo_hw_source;

typedef struct tlo_hw_camera {
    tlo_hw_source source; /* TEST or DEVICE */
    unsigned width, height;
    unsigned fps;
    unsigned bitrate_kbps;
} tlo_hw_camera;

typedef struct tlo_hw_microphone {
    tlo_hw_source source; /* SPEECH, TONE or DEVICE */
} tlo_hw_microphone;

typedef enum {
    TLO_HW_ENCODER_AUTO,  /* VA-API or NVENC when usable, else x264 */
    TLO_HW_ENCODER_X264,  /* software, x264enc */
    TLO_HW_ENCODER_VAAPI, /* Intel/AMD: vah264enc (GStreamer va) or vaapih264enc */
    TLO_HW_ENCODER_NVENC, /* NVIDIA: nvh264enc */
} tlo_hw_encoder;

typedef struct tlo_hw_room {
    char name[TLO_HW_NAME_MAX + 1];
    unsigned n_cameras; /* 1..TLO_HW_MAX_CAMERAS */
    tlo_hw_camera cameras[TLO_HW_MAX_CAMERAS];
    unsigned n_microphones; /* 1..TLO_HW_MAX_MICROPHONES */
    tlo_hw_microphone microphones[TLO_HW_MAX_MICROPHONES];
    unsigned segment_seconds;
    tlo_hw_encoder encoder;
    bool caption; /* burn date, time and room name into every camera */
} tlo_hw_room;

/* ---- room profiles (room.c) ---- */

/* The built-in room "simulated": cameras smpte and ball, 640x360 at 25 fps,
 * 1500 kbit/s; one microphone of speech; 4 s segments; encoder auto; caption
 * on. Returns 0 (out NULL: TLO_EARG). */
int tlo_hw_room_simulated(tlo_hw_room *out);

/* Reads the profile at path (docs/rooms.md). Everything in the file is
 * checked: an unknown group or key, a duplicate, a value out of range is an
 * error naming the file, the group, the key and what is allowed. out is
 * zeroed first and filled only on success. */
int tlo_hw_room_load(const char *path, tlo_hw_room *out, tlo_error *err);

/* The same from len bytes of profile text; label names it in messages (a
 * file name). For tlo_hw_room_load and the fuzz harness. */
int tlo_hw_room_parse(const char *data, size_t len, const char *label, tlo_hw_room *out,
                      tlo_error *err);

/* "simulated" gives the built-in room; anything else is the path of a
 * profile (a file called simulated is "./simulated"). */
int tlo_hw_room_resolve(const char *spec, tlo_hw_room *out, tlo_error *err);

/* Checks a room filled by hand against the limits above: 0 or TLO_EARG. */
int tlo_hw_room_check(const tlo_hw_room *room, tlo_error *err);

/* The canonical text of room (docs/rooms.md): one "key=value\n" per
 * setting, keys of [a-z0-9_.] in ascending byte order ("camera.1.fps=25"),
 * one of them "version=1". Writes at most cap bytes including a NUL (cut
 * after the last whole line) and returns the length of the whole text, as
 * snprintf does; TLO_HW_DESCRIBE_MAX is always enough. The room should have
 * passed tlo_hw_room_check; bytes below 0x20, DEL and '\' in values are
 * written as \xNN all the same. */
size_t tlo_hw_room_describe(const tlo_hw_room *room, char *out, size_t cap);

/* SHA-256 of tlo_hw_room_describe's text: what the session-start entry of
 * the ledger records of the room. Equal rooms, equal digests on any machine. */
void tlo_hw_room_digest(const tlo_hw_room *room, uint8_t out[static TLO_HW_DIGEST_BYTES]);

/* "auto", "x264", "vaapi", "nvenc" (profile spelling); never NULL. */
const char *tlo_hw_encoder_name(tlo_hw_encoder enc);

/* ---- synthesized speech for the simulated microphone (room.c) ---- */

/* Speaks text (NULL: a default paragraph) with espeak-ng into memory: a WAV
 * file image (RIFF, 16-bit mono PCM, sizes filled in) in *wav, *len bytes,
 * which the caller releases with g_free. Test material, never evidence: it
 * comes through a pipe from espeak-ng. text is at most 4096 bytes of UTF-8.
 * TLO_EUNSUPPORTED when espeak-ng is not installed. *wav is NULL on failure. */
int tlo_hw_speech_pcm(const char *text, uint8_t **wav, size_t *len, tlo_error *err);

typedef struct tlo_hw_wav {
    unsigned rate, channels, bits; /* PCM only */
    size_t data_offset;            /* first sample byte */
    size_t data_bytes;             /* whole frames, within the buffer */
} tlo_hw_wav;

/* Parses the header of a PCM WAV image (bounds-checked; the data chunk may
 * claim more than there is, as espeak-ng's streamed output does, and is then
 * cut to the bytes present). 0 or TLO_EFORMAT. */
int tlo_hw_wav_parse(const uint8_t *wav, size_t len, tlo_hw_wav *out, tlo_error *err);

/* ---- devices and encoders (devices.c; gst_init first) ---- */

typedef enum { TLO_HW_CAMERA, TLO_HW_MICROPHONE } tlo_hw_device_kind;

typedef struct tlo_hw_device {
    tlo_hw_device_kind kind;
    char *name;  /* display name, what a profile's device:NAME matches */
    char *klass; /* GStreamer device class, "Video/Source" */
    char *path;  /* device node or API path when known ("/dev/video0"), else NULL */
    char *caps;  /* formats it offers, as a GStreamer caps string */
} tlo_hw_device;

/* The cameras (Video/Source) and microphones (Audio/Source) GStreamer's
 * device monitor finds, cameras first. None found is success with *n == 0.
 * Release with tlo_hw_devices_free. */
int tlo_hw_devices_list(tlo_hw_device **out, size_t *n, tlo_error *err);
void tlo_hw_devices_free(tlo_hw_device *devs, size_t n);

/* The GStreamer source element for a device source: a path under /dev/ is a
 * v4l2src (cameras); anything else is matched against the display names
 * (and paths) the device monitor reports. A new floating element in *out;
 * TLO_EIO naming the device when it is not connected. */
int tlo_hw_device_element(const tlo_hw_source *src, tlo_hw_device_kind kind, GstElement **out,
                          tlo_error *err);

/* The H.264 encoder element to use for enc: the factory name of an element
 * that exists. AUTO picks the first of VA-API (vah264enc, vaapih264enc) and
 * NVENC (nvh264enc) whose factory exists and which encodes a test frame on
 * this machine (probed once per process), else x264enc. An explicit choice
 * is returned if its factory exists. NULL when nothing fits. Static string. */
const char *tlo_hw_encoder_element(tlo_hw_encoder enc);

/* The same, with an error naming what is missing. */
int tlo_hw_encoder_resolve(tlo_hw_encoder enc, const char **element, tlo_error *err);

/* How capture/ wants a source bin. */
typedef struct tlo_hw_stream_opts {
    bool live;                 /* real-time sources; false runs as fast as possible (tests) */
    unsigned duration_seconds; /* simulated sources end after this much media; 0: never */
    const char *encoder;       /* encoder element (tlo_hw_encoder_element); NULL resolves */
    const uint8_t *speech_wav; /* WAV for SPEECH microphones (borrowed, copied); NULL makes one */
    size_t speech_len;
    unsigned keyframe_ms; /* a keyframe at least this often; 0: once a segment */
} tlo_hw_stream_opts;

/* A GstBin for camera i (0-based) of room with one "src" pad of parsed
 * H.264 at the camera's resolution, rate and bitrate, a keyframe at least
 * every segment: source, conversion, the "camera N" running clock (test
 * patterns), the caption (date, time and room) when room->caption, encoder,
 * h264parse. A new floating element, or NULL with err filled (a missing
 * GStreamer element or device is named). */
GstElement *tlo_hw_camera_bin(const tlo_hw_room *room, unsigned i, const tlo_hw_stream_opts *opts,
                              tlo_error *err);

/* What happens when a camera's source fails (a camera unplugged, a driver
 * error). A camera bin holds an input-selector between its source part and
 * its overlays and encoder, so that its track can go on:
 *
 *  1. The recorder's bus sync handler, in the thread that posts the error,
 *     calls tlo_hw_source_failed: from then on the end-of-stream that a
 *     failing GStreamer source sends is dropped, and the track stays open.
 *  2. Later, from the application thread, tlo_hw_camera_failover links a
 *     "no signal" slate (black, with the camera's name and the time it was
 *     lost) into the selector at the time the camera's last frame ended, and
 *     switches to it. The track goes on without a gap, and a viewer sees
 *     plainly that the camera was lost.
 *
 * The source element of every camera and microphone bin is named "source". */

/* True when obj is (or is inside) the source element of a camera or
 * microphone bin; *bin is then that bin (borrowed). */
bool tlo_hw_is_source_of(GstObject *obj, GstElement **bin);

/* Marks bin's source as failed (thread-safe, callable from any thread). */
void tlo_hw_source_failed(GstElement *bin);

/* Switches camera i's bin to the no-signal slate (see above). The bin must
 * be in a playing pipeline. 0, or a negative code with err filled. */
int tlo_hw_camera_failover(GstElement *bin, const tlo_hw_room *room, unsigned i,
                           const tlo_hw_stream_opts *opts, tlo_error *err);

/* For tests: makes bin's source fail, as an unplugged camera does, when its
 * stream reaches at_ns (its push returns a flow error, so the source posts
 * an error and ends its stream). */
void tlo_hw_inject_failure(GstElement *bin, guint64 at_ns);

/* The caps every microphone bin gives. */
#define TLO_HW_AUDIO_CAPS "audio/x-raw,format=S16LE,layout=interleaved,rate=48000,channels=1"

/* A GstBin for microphone i of room with one "src" pad of TLO_HW_AUDIO_CAPS:
 * speech (looped, 1 s apart) mixed with quiet pink
 * noise, a tone, or the device. NULL with err filled on failure. */
GstElement *tlo_hw_microphone_bin(const tlo_hw_room *room, unsigned i,
                                  const tlo_hw_stream_opts *opts, tlo_error *err);

#endif
