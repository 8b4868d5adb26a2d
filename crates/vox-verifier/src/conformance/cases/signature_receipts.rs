//! Petition signatures' receipts (07 §7.10 "Receipt", V14): an observer checks what the
//! record did with a signer's signature — counted, withdrawn or invalidated — from the
//! receipt the signer's device saved; a receipt naming another signer than its leaf's
//! entry, or with a forged inclusion proof, fails.

use vox_protocol::petition::SignatureAction;
use vox_protocol::signature_receipt::SignatureReceipt;

use super::Bases;
use crate::conformance::generate::Case;
use crate::report::Location;
use crate::synth::SynthRecord;
use crate::StepId;

/// Receipts of: p3's first ring signature (counted), p3's last ring signature (its tag
/// invalidated by the office), and p1's signature whose signer later withdrew.
fn receipts(r: &SynthRecord) -> Vec<SignatureReceipt> {
    let ring = r.signature_leaves("p3");
    let mut out: Vec<SignatureReceipt> = [ring.first(), ring.last()]
        .into_iter()
        .flatten()
        .filter_map(|&leaf| r.signature_receipt(leaf).ok())
        .collect();
    let p1: Vec<SignatureReceipt> = r
        .signature_leaves("p1")
        .into_iter()
        .filter_map(|leaf| r.signature_receipt(leaf).ok())
        .collect();
    let withdrawn = p1
        .iter()
        .find(|w| w.action == SignatureAction::Withdraw)
        .and_then(|w| {
            p1.iter()
                .find(|s| s.action == SignatureAction::Sign && s.signer == w.signer)
        });
    out.extend(withdrawn.cloned());
    out
}

fn at(i: usize) -> Location {
    Location::Receipt {
        name: format!("receipts/signature-{i}.json"),
    }
}

/// The cases.
pub fn cases(b: &Bases) -> Vec<Case> {
    let record = &b.by_code.record;
    let honest = receipts(record);
    let mut other_signer = honest.clone();
    if let (Some(first), Some(last)) = (other_signer.first_mut(), honest.get(1)) {
        first.signer = last.signer;
    }
    let mut forged_proof = honest.clone();
    if let Some(node) = forged_proof
        .first_mut()
        .and_then(|r| r.inclusion_proof.first_mut())
    {
        node.0[0] ^= 1;
    }
    vec![
        Case::pass(
            "honest-with-signature-receipts",
            "The honest record by code; the observer checks three petition signatures' \
             receipts (07 §7.10): p3's first ring signature (counted as of the record's \
             last entry), p3's last ring signature (its linking tag invalidated by the \
             petitions office), and a p1 signature its signer later withdrew. V14 reports \
             each standing; all three pass.",
            record.clone(),
        )
        .with_signature_receipts(honest),
        Case::fail(
            "v14-signature-receipt-names-another-signer",
            "The receipt of p3's first ring signature names the linking tag of p3's last \
             one: the record's entry at the receipt's leaf is not a signature by that \
             signer (07 §7.10 R4).",
            record.clone(),
            StepId::Receipts,
        )
        .rule("V14.3")
        .with_signature_receipts(other_signer)
        .at(at(0)),
        Case::fail(
            "v14-signature-receipt-with-a-forged-inclusion-proof",
            "The receipt of p3's first ring signature has one bit of its inclusion proof \
             flipped: the proof no longer leads to the signed head's root (07 §7.10 R2).",
            record.clone(),
            StepId::Receipts,
        )
        .rule("V14.1")
        .with_signature_receipts(forged_proof)
        .at(at(0)),
    ]
}
