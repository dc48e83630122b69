/* The incremental verification a checkpoint needs (custody/incremental.c). */
#ifndef TLO_CUSTODY_INCREMENTAL_H
#define TLO_CUSTODY_INCREMENTAL_H

#include "internal.h"

/* What tlo_chain_verify(v->ch, r, err) reports, for the tree head the
 * custodian is about to sign, at the cost of the entries since the newest
 * checkpoint of the vault rather than of the whole ledger:
 *
 *  - the newest checkpoint in checkpoints/ is read and its signature checked
 *    against the custodian key of the genesis entry; it is then relied on:
 *    the ledger's first cp.size entries are taken as verified when that
 *    checkpoint was signed;
 *  - the stored tree of those cp.size entries must give cp.root (the ledger
 *    is consistent with the checkpoint: not rewritten or forked since);
 *  - the enrolments before cp.size (genesis, user-add, user-revoke, read by
 *    kind) each prove their inclusion in cp.root, so the signer keys come from
 *    the checkpointed ledger, not from whatever the database holds now; so
 *    does the last entry before cp.size, which the next must link to;
 *  - every entry since is checked as tlo_chain_verify checks one (sequence,
 *    kind, canonical body, link, time, signer enrolled and not revoked, its
 *    signature, admin rights for grants and enrolments), and appended to the
 *    checkpoint's tree: r->root and r->entries are the new tree head, and the
 *    stored tree must agree with it.
 * With no readable checkpoint, or more entries since it than before it (the
 * whole verification uses every core and is then no slower), it is
 * tlo_chain_verify. r->signatures counts
 * only the signatures checked here. */
int custody_tree_since(tlo_custody *v, tlo_chain_report *r, tlo_error *err);

#endif
