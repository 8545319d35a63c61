'''Email and SMS templates, rendered in Jinja2's sandbox (HTML parts autoescaped).

Every template has three parts: ``subject``, ``text`` and ``html`` (and ``sms``
for the assignee notices). The default French templates live in
:data:`DEFAULT_TEMPLATES`; the variables they may use are listed in
:data:`VARIABLES`. User data is only ever passed as variables, never compiled
as a template, so ``{{ 7*7 }}`` typed in a name stays text; and a template
itself (a tenant's edited one, later) cannot reach Python internals because the
sandbox refuses ``__class__``, ``__mro__`` and the like.
'''
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_datetime
from babel.numbers import format_currency
from jinja2 import DictLoader, TemplateError, TemplateNotFound
from jinja2.sandbox import SandboxedEnvironment

from services.notifier.domain.model import clean_header

# The variables a template may use; all are text (or a flag where said).
VARIABLES: dict[str, str] = {
    "quote_number": "numéro du devis (DV-…)",
    "quote_title": "objet du devis",
    "quote_version": "numéro de version envoyée",
    "quote_total_ht": "total HT formaté (1 234,56 €)",
    "quote_total_ttc": "total TTC formaté (1 234,56 €)",
    "quote_valid_until": "date de fin de validité (31 mars 2026)",
    "company_name": "société émettrice du devis",
    "account_name": "compte client",
    "recipient_name": "nom du destinataire (contact)",
    "recipient_email": "email du destinataire",
    "assignee_name": "commercial assigné au devis",
    "assignee_email": "email du commercial assigné",
    "assignee_phone": "téléphone du commercial assigné",
    "link_url": "lien « Accéder au document » vers le devis en ligne",
    "signature_requested": "drapeau : une signature électronique est demandée",
    "body": "texte du message saisi par le commercial (remplace le texte du modèle)",
    "viewer_email": "qui a consulté / téléchargé le devis",
    "ip": "adresse IP de la consultation, du téléchargement ou de la signature",
    "user_agent": "navigateur utilisé",
    "date": "date de l'action (3 avril 2026)",
    "time": "heure de l'action (14:05)",
    "signer_name": "nom du signataire",
    "signer_email": "email du signataire",
    "amount": "montant TTC signé, formaté",
}

_DOCUMENT_LAYOUT = """<!DOCTYPE html>
<html lang="fr">
<head><meta charset="utf-8"><title>{{ subject }}</title></head>
<body style="margin:0;padding:24px;background:#f4f5f7;font-family:Arial,Helvetica,sans-serif;color:#222;">
<div style="max-width:600px;margin:0 auto;background:#fff;padding:28px;border-radius:6px;">
{% block content %}{% endblock %}
{% if signature_requested %}
<p><strong>Demande de signature électronique</strong> : ce lien vous permet de consulter le devis et de le signer en ligne.</p>
{% endif %}
<p style="margin:28px 0;text-align:center;"><a href="{{ link_url|safe_url }}" style="background:#1f5fbf;color:#fff;padding:12px 24px;border-radius:4px;text-decoration:none;font-weight:bold;display:inline-block;">Accéder au document</a></p>
<p style="font-size:12px;color:#666;">Si le bouton ne fonctionne pas, copiez ce lien dans votre navigateur :<br><a href="{{ link_url|safe_url }}" style="color:#1f5fbf;">{{ link_url }}</a></p>
{% block closing %}{% endblock %}
</div>
</body>
</html>
"""

_NOTICE_LAYOUT = """<!DOCTYPE html>
<html lang="fr">
<head><meta charset="utf-8"><title>{{ subject }}</title></head>
<body style="margin:0;padding:24px;background:#f4f5f7;font-family:Arial,Helvetica,sans-serif;color:#222;">
<div style="max-width:600px;margin:0 auto;background:#fff;padding:28px;border-radius:6px;">
{% block content %}{% endblock %}
<p style="font-size:12px;color:#666;">Notification envoyée par Quoteflow selon vos préférences utilisateur.</p>
</div>
</body>
</html>
"""

_SIGNOFF_TEXT = """Cordialement,
{{ assignee_name }}
{% if company_name %}{{ company_name }}
{% endif %}"""

_SIGNOFF_HTML = """<p>Cordialement,<br>{{ assignee_name }}{% if company_name %}<br>{{ company_name }}{% endif %}</p>"""

DEFAULT_TEMPLATES: dict[str, dict[str, str]] = {
    "quote_send": {
        "subject": "{% if signature_requested %}Demande de signature électronique : devis {{ quote_number }}"
                   "{% else %}Votre devis {{ quote_number }}{% endif %}"
                   "{% if company_name %} – {{ company_name }}{% endif %}",
        "text": """Bonjour{% if recipient_name %} {{ recipient_name }}{% endif %},

Veuillez trouver notre devis {{ quote_number }}{% if quote_title %} « {{ quote_title }} »{% endif %}{% if quote_total_ttc %}, d'un montant de {{ quote_total_ttc }} TTC{% endif %}.
{% if quote_valid_until %}Il est valable jusqu'au {{ quote_valid_until }}.
{% endif %}

{% if signature_requested %}
Demande de signature électronique : une signature électronique vous est demandée. Le lien ci-dessous vous permet de consulter le devis et de le signer en ligne.
{% else %}
Le lien ci-dessous vous permet de le consulter en ligne et de le télécharger au format PDF.
{% endif %}

Accéder au document : {{ link_url }}

Pour toute question, répondez simplement à cet email.

""" + _SIGNOFF_TEXT,
        "html": """{% extends "layout/document.html" %}
{% block content %}
<p>Bonjour{% if recipient_name %} {{ recipient_name }}{% endif %},</p>
<p>Veuillez trouver notre devis <strong>{{ quote_number }}</strong>{% if quote_title %} « {{ quote_title }} »{% endif %}{% if quote_total_ttc %}, d'un montant de {{ quote_total_ttc }} TTC{% endif %}.
{% if quote_valid_until %}Il est valable jusqu'au {{ quote_valid_until }}.{% endif %}</p>
{% if not signature_requested %}<p>Le lien ci-dessous vous permet de le consulter en ligne et de le télécharger au format PDF.</p>{% endif %}
{% endblock %}
{% block closing %}<p>Pour toute question, répondez simplement à cet email.</p>
""" + _SIGNOFF_HTML + "{% endblock %}\n",
    },
    "quote_relance": {
        "subject": "Relance : {% if signature_requested %}signature électronique de votre devis"
                   "{% else %}votre devis{% endif %} {{ quote_number }}"
                   "{% if company_name %} – {{ company_name }}{% endif %}",
        "text": """Bonjour{% if recipient_name %} {{ recipient_name }}{% endif %},

Nous revenons vers vous au sujet de notre devis {{ quote_number }}{% if quote_title %} « {{ quote_title }} »{% endif %} que nous vous avons adressé récemment. Avez-vous pu en prendre connaissance ?
{% if quote_valid_until %}Pour rappel, notre proposition reste valable jusqu'au {{ quote_valid_until }}.
{% endif %}

{% if signature_requested %}
Demande de signature électronique : le devis attend votre signature. Le lien ci-dessous vous permet de le relire et de le signer en ligne en quelques instants.
{% else %}
Le devis reste consultable en ligne par le lien ci-dessous.
{% endif %}

Accéder au document : {{ link_url }}

Nous restons à votre disposition pour en discuter ou l'ajuster à vos besoins.

""" + _SIGNOFF_TEXT,
        "html": """{% extends "layout/document.html" %}
{% block content %}
<p>Bonjour{% if recipient_name %} {{ recipient_name }}{% endif %},</p>
<p>Nous revenons vers vous au sujet de notre devis <strong>{{ quote_number }}</strong>{% if quote_title %} « {{ quote_title }} »{% endif %} que nous vous avons adressé récemment. Avez-vous pu en prendre connaissance ?</p>
{% if quote_valid_until %}<p>Pour rappel, notre proposition reste valable jusqu'au {{ quote_valid_until }}.</p>{% endif %}
{% if not signature_requested %}<p>Le devis reste consultable en ligne par le lien ci-dessous.</p>{% endif %}
{% endblock %}
{% block closing %}<p>Nous restons à votre disposition pour en discuter ou l'ajuster à vos besoins.</p>
""" + _SIGNOFF_HTML + "{% endblock %}\n",
    },
    "quote_viewed": {
        "subject": "Devis {{ quote_number }} consulté par {{ viewer_email }}",
        "text": """Bonjour{% if assignee_name %} {{ assignee_name }}{% endif %},

Le devis {{ quote_number }} a été consulté par {{ viewer_email }} le {{ date }} à {{ time }}{% if ip %} (adresse IP : {{ ip }}){% endif %}.
{% if user_agent %}Navigateur : {{ user_agent }}
{% endif %}

Cette consultation est enregistrée dans l'historique du devis.
""",
        "html": """{% extends "layout/notice.html" %}
{% block content %}
<p>Bonjour{% if assignee_name %} {{ assignee_name }}{% endif %},</p>
<p>Le devis <strong>{{ quote_number }}</strong> a été consulté par {{ viewer_email }} le {{ date }} à {{ time }}{% if ip %} (adresse IP : {{ ip }}){% endif %}.</p>
{% if user_agent %}<p style="font-size:12px;color:#666;">Navigateur : {{ user_agent }}</p>{% endif %}
<p>Cette consultation est enregistrée dans l'historique du devis.</p>
{% endblock %}
""",
        "sms": "Le devis {{ quote_number }} a été consulté par {{ viewer_email }} le {{ date }} à {{ time }}"
               "{% if ip %} (IP {{ ip }}){% endif %}.",
    },
    "quote_downloaded": {
        "subject": "Devis {{ quote_number }} téléchargé par {{ viewer_email }}",
        "text": """Bonjour{% if assignee_name %} {{ assignee_name }}{% endif %},

Le devis {{ quote_number }} a été téléchargé par {{ viewer_email }} le {{ date }} à {{ time }}{% if ip %} (adresse IP : {{ ip }}){% endif %}.
{% if user_agent %}Navigateur : {{ user_agent }}
{% endif %}

Ce téléchargement est enregistré dans l'historique du devis.
""",
        "html": """{% extends "layout/notice.html" %}
{% block content %}
<p>Bonjour{% if assignee_name %} {{ assignee_name }}{% endif %},</p>
<p>Le devis <strong>{{ quote_number }}</strong> a été téléchargé par {{ viewer_email }} le {{ date }} à {{ time }}{% if ip %} (adresse IP : {{ ip }}){% endif %}.</p>
{% if user_agent %}<p style="font-size:12px;color:#666;">Navigateur : {{ user_agent }}</p>{% endif %}
<p>Ce téléchargement est enregistré dans l'historique du devis.</p>
{% endblock %}
""",
        "sms": "Le devis {{ quote_number }} a été téléchargé par {{ viewer_email }} le {{ date }} à {{ time }}"
               "{% if ip %} (IP {{ ip }}){% endif %}.",
    },
    "signature_confirmation": {
        "subject": "Devis {{ quote_number }} signé par {{ signer_name }} – Accepté",
        "text": """Bonjour{% if assignee_name %} {{ assignee_name }}{% endif %},

Le devis {{ quote_number }} a été signé électroniquement par {{ signer_name }}{% if signer_email %} ({{ signer_email }}){% endif %} le {{ date }} à {{ time }}.
{% if amount %}Montant signé : {{ amount }} TTC.
{% endif %}

Le devis est désormais au statut « Accepté ». Le détail du signataire, la date de signature et les preuves de signature sont disponibles dans le bandeau du devis.
""",
        "html": """{% extends "layout/notice.html" %}
{% block content %}
<p>Bonjour{% if assignee_name %} {{ assignee_name }}{% endif %},</p>
<p>Le devis <strong>{{ quote_number }}</strong> a été signé électroniquement par {{ signer_name }}{% if signer_email %} ({{ signer_email }}){% endif %} le {{ date }} à {{ time }}.</p>
{% if amount %}<p>Montant signé : <strong>{{ amount }} TTC</strong>.</p>{% endif %}
<p>Le devis est désormais au statut <strong>« Accepté »</strong>. Le détail du signataire, la date de signature et les preuves de signature sont disponibles dans le bandeau du devis.</p>
{% endblock %}
""",
    },
}

# The layout around a body the salesperson typed (plain text): the link always follows.
_CUSTOM_TEXT = """{{ body }}
{% if link_url and link_url not in body %}

Accéder au document : {{ link_url }}
{% endif %}"""

_CUSTOM_HTML = """{% extends "layout/document.html" %}
{% block content %}
{% for paragraph in body|paragraphs %}<p>{% for line in paragraph %}{{ line }}{% if not loop.last %}<br>{% endif %}{% endfor %}</p>
{% endfor %}
{% endblock %}
"""

SEND_TEMPLATES = ("quote_send", "quote_relance")


class TemplateProblem(ValueError):
    """A template is unknown, broken, or tried something the sandbox forbids."""


@dataclass(frozen=True)
class Rendered:
    subject: str
    text: str
    html: str
    sms: str = ""


def _safe_url(value) -> str:
    url = str(value or "").strip()
    return url if url.lower().startswith(("https://", "http://")) else "#"


def _paragraphs(value) -> list[list[str]]:
    text = str(value or "").replace("\r\n", "\n").replace("\r", "\n")
    blocks = [block.strip("\n") for block in text.split("\n\n")]
    return [block.split("\n") for block in blocks if block.strip()]


class TemplateRenderer:
    """Renders templates by name in one sandboxed environment; HTML parts are autoescaped."""

    def __init__(self, templates: dict[str, dict[str, str]] | None = None):
        self.templates = {**DEFAULT_TEMPLATES, **(templates or {})}
        sources = {"layout/document.html": _DOCUMENT_LAYOUT, "layout/notice.html": _NOTICE_LAYOUT,
                   "custom/text": _CUSTOM_TEXT, "custom/html": _CUSTOM_HTML}
        for name, parts in self.templates.items():
            for part, source in parts.items():
                sources[f"{name}/{part}"] = source
        self.env = SandboxedEnvironment(
            loader=DictLoader(sources),
            autoescape=lambda name: bool(name) and name.endswith("html"),
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=True,
        )
        self.env.filters["safe_url"] = _safe_url
        self.env.filters["paragraphs"] = _paragraphs

    def names(self) -> list[str]:
        return sorted(self.templates)

    def render(self, name: str, variables: dict, *, subject: str = "", body: str = "") -> Rendered:
        """Renders ``name``; a non-empty ``subject`` or ``body`` (plain text) replaces the template's."""
        if name not in self.templates:
            raise TemplateProblem(f"unknown template {name!r}")
        values = {key: value for key, value in variables.items()}
        try:
            subject_text = clean_header(subject) or clean_header(self._part(name, "subject", values))
            values["subject"] = subject_text
            if body.strip():
                values["body"] = body.replace("\r\n", "\n").replace("\r", "\n").strip("\n")
                text = self._part("custom", "text", values)
                html = self._part("custom", "html", values)
            else:
                text = self._part(name, "text", values)
                html = self._part(name, "html", values)
            sms = self._part(name, "sms", values) if "sms" in self.templates[name] else ""
        except TemplateNotFound as exc:
            raise TemplateProblem(f"template {name!r} has no part {exc.name!r}") from None
        except TemplateError as exc:  # SecurityError, syntax errors, undefined calls
            raise TemplateProblem(f"template {name!r} cannot be rendered: {exc}") from None
        return Rendered(subject=subject_text, text=_tidy(text), html=html, sms=" ".join(sms.split()))

    def _part(self, name: str, part: str, values: dict) -> str:
        return self.env.get_template(f"{name}/{part}").render(values)


def _tidy(text: str) -> str:
    lines = [line.rstrip() for line in text.replace("\r", "").split("\n")]
    out: list[str] = []
    for line in lines:
        if line == "" and out and out[-1] == "":
            continue
        out.append(line)
    return "\n".join(out).strip("\n") + "\n"


def money(amount: str, currency: str = "EUR") -> str:
    """'1234.56' -> '1 234,56 €' (French, narrow no-break spaces); '' when not a number."""
    try:
        return format_currency(Decimal(amount), currency or "EUR", locale="fr_FR") if amount else ""
    except (InvalidOperation, ValueError):
        return ""


def long_date(iso_date: str) -> str:
    """'2026-03-31' (or an RFC 3339 time) -> '31 mars 2026'; '' when unreadable."""
    if not iso_date:
        return ""
    try:
        return format_date(datetime.fromisoformat(iso_date.replace("Z", "+00:00")).date(),
                           format="long", locale="fr_FR")
    except ValueError:
        return ""


def moment(rfc3339: str, timezone: str) -> tuple[str, str]:
    """An RFC 3339 time -> ('3 avril 2026', '14:05') in ``timezone``."""
    try:
        when = datetime.fromisoformat(rfc3339.replace("Z", "+00:00"))
    except (ValueError, AttributeError):
        return "", ""
    zone = ZoneInfo(timezone)
    if when.tzinfo is None:
        when = when.replace(tzinfo=ZoneInfo("UTC"))
    return (format_datetime(when, "d MMMM y", tzinfo=zone, locale="fr_FR"),
            format_datetime(when, "HH:mm", tzinfo=zone, locale="fr_FR"))
