"""A proof told to a person, in French: what level of signature this is, how the signer was identified, each step
as a sentence, and how to check each part without Quoteflow. Pure Python: the proof PDF lays these texts out.

Identification says only what the evidence shows. Opening the personal link shows that whoever opened it held the
link, not that they control the mailbox it was sent to (a link is forwarded, previewed by a mail filter): it is
never called a verified email. A one-time code typed back shows access to the mailbox or phone it went to, then.
"""
from __future__ import annotations

CHANNELS = {"email": ("par e-mail", "boîte e-mail"), "sms": ("par SMS", "ligne mobile")}

LEVEL = ("Signature électronique simple au sens du règlement eIDAS (UE) n° 910/2014, article 3 : ni avancée, ni "
         "qualifiée.")
LEVEL_MEANING = (
    "Selon les articles 1366 et 1367 du Code civil, un écrit électronique vaut un écrit sur papier si son auteur "
    "peut être dûment identifié et s'il est conservé de façon à en garantir l'intégrité. La fiabilité d'une "
    "signature simple n'est pas présumée : elle se prouve par les éléments réunis dans ce dossier (document, lignes "
    "acceptées, identité déclarée, accès, horodatages, journal chaîné). Le cachet électronique PAdES posé sur le "
    "devis signé et sur ce dossier est celui du service de signature : il garantit que ces fichiers n'ont pas "
    "changé depuis leur scellement ; il n'identifie pas le signataire.")


def _party(party) -> str:
    party = party if isinstance(party, dict) else {}
    name, email = party.get("name", ""), party.get("email", "")
    return f"{name} <{email}>" if name and email else name or email or "—"


def step_sentence(step: str, data: dict) -> str:
    """One evidence entry as a sentence ("" for a step this module does not know: the caller labels it)."""
    channel = CHANNELS.get(data.get("channel", ""), ("", ""))[0]
    return {
        "sent": lambda: f"Devis envoyé pour signature à {_party(data.get('signer'))}",
        "sent_again": lambda: f"Devis renvoyé (relance) à {_party(data.get('recipient'))}"
                              + ("" if data.get("signature_requested") else ", sans nouvelle demande de signature"),
        "opened": lambda: "Devis ouvert avec le lien personnel",
        "code_sent": lambda: f"Code à usage unique envoyé {channel} à {data.get('recipient', '')}",
        "code_verified": lambda: f"Code à usage unique saisi correctement (essai n° {data.get('attempts', '?')})",
        "consented": lambda: f"Consentement au texte affiché, donné par {data.get('signer_name', '')}",
        "signed": lambda: f"Devis signé par {_party({'name': data.get('signer_name'), 'email': data.get('signer_email')})}",
        "declined": lambda: f"Devis refusé par {data.get('signer_name', '')}",
        "superseded": lambda: f"Remplacé par la version {data.get('by_version', '?')} du devis",
        "withdrawn": lambda: "Devis retiré par l'émetteur : il ne peut plus être signé",
    }.get(step, lambda: "")()


def identification(proof: dict) -> list[tuple[str, str]]:
    """(label, text) rows: how the person who signed was identified, and what each element does and does not show."""
    entries = proof["evidence"]
    sends = [e for e in entries if e["step"] in ("sent", "sent_again")]
    addressed = {_party(e["data"].get("signer" if e["step"] == "sent" else "recipient")) for e in sends}
    codes = [e for e in entries if e["step"] == "code_verified"]
    rows = [
        ("Accès au devis", f"Par le lien personnel envoyé à {', '.join(sorted(addressed)) or '—'}. Ouvrir ce lien "
                           "montre qu'on le détenait ; ce n'est pas une vérification de l'adresse e-mail (un lien "
                           "peut être transféré)."),
    ]
    if codes:
        code = codes[-1]["data"]
        how, where = CHANNELS.get(code.get("channel", ""), ("", "adresse"))
        rows.append(("Code à usage unique", f"Envoyé {how} à {code.get('recipient', '')} et saisi correctement "
                                            f"(entrée {codes[-1]['seq']}) : le signataire avait accès à cette "
                                            f"{where} à ce moment-là."))
    else:
        rows.append(("Code à usage unique", "Aucun code n'a été demandé pour cette signature."))
    rows.append(("Nom", "Saisi par le signataire lui-même ; aucune pièce d'identité n'a été contrôlée."))
    return rows


def checks(proof: dict) -> list[tuple[str, str, str]]:
    """(what is checked, what it means, how to check it without Quoteflow), in the order a reader would go."""
    rows = [
        ("Le devis envoyé",
         "Le PDF reçu par le client est, octet pour octet, celui qui a été signé.",
         "sha256sum Devis-….pdf : le résultat doit être « Devis envoyé (SHA-256) » ci-dessus."),
        ("Le devis signé",
         "Rien n'a changé depuis la signature ; sa première révision est le devis envoyé.",
         "Ouvrir Devis-…-signe.pdf dans tout lecteur PDF (panneau Signatures) : signature valide, document non "
         "modifié. Ou : pdfsig Devis-…-signe.pdf (poppler-utils)."),
        ("Ce dossier",
         "Ce dossier et sa preuve JSON sont ceux que le service a scellés.",
         "Ouvrir ce PDF dans un lecteur PDF (panneau Signatures) ; sha256sum Preuves-….json doit donner « Preuve "
         "JSON (SHA-256) » ci-dessus."),
        ("Le journal",
         "Aucune entrée n'a été modifiée, retirée ou déplacée : chacune contient l'empreinte de la précédente.",
         "Pour l'entrée n (0 pour la première) : jq -cjS '.evidence[n] | del(.sha256)' Preuves-….json | sha256sum "
         "doit donner son sha256 ; son prev_sha256 est le sha256 de la précédente ; la dernière est la tête de "
         "chaîne."),
        ("Le consentement",
         "Le texte accepté est celui qui a été affiché au signataire.",
         "jq -j '.consent.text' Preuves-….json | sha256sum doit donner « SHA-256 du texte »."),
    ]
    if (proof.get("purchase") or {}).get("lines"):
        rows.insert(1, ("Les lignes acceptées",
                        "Les lignes, quantités, prix et totaux ci-dessus sont ceux du devis envoyé : leur empreinte "
                        "est inscrite dans la première entrée du journal.",
                        "jq -cjS '.purchase.lines' Preuves-….json | sha256sum doit donner « Empreinte des lignes », "
                        "égale à data.lines_sha256 de la première entrée."))
    return rows
