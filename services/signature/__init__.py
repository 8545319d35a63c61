"""The signature service: signature requests, the evidence log, sealed PDFs and proofs."""
