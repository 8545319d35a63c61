'''Email and SMS templates, rendered in Jinja2's sandbox (HTML parts autoescaped).

Every template has the parts ``subject``, ``text`` and ``html`` (and ``sms``
for the templates that also go by SMS). The default French templates live in
:data:`DEFAULT_TEMPLATES`; each template may use the variables its spec lists
(:data:`services.notifier.domain.model.TEMPLATE_SPECS`), described in
:data:`VARIABLES`. A tenant's saved version replaces the default's parts after
:func:`validate` accepted it: it compiles, uses only known variables (else the
line is named), renders in the sandbox, and keeps what it must keep (the
"Accéder au document" link of the send / follow-up templates, the one-time code).

User data is only ever passed as variables, never compiled as a template, so
``{{ 7*7 }}`` typed in a name stays text; a template cannot reach Python
internals because the sandbox refuses ``__class__``, ``__mro__`` and the like.
'''
from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from threading import Lock
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_datetime
from babel.numbers import format_currency
from jinja2 import DictLoader, TemplateError, TemplateNotFound, TemplateSyntaxError, meta, nodes
from jinja2.sandbox import ImmutableSandboxedEnvironment

from services.notifier.domain.model import TEMPLATE_SPECS, TemplateContent, TemplateSpec, clean_header

# Every variable a template may use (each template may use those of its spec); all are text unless said.
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
    "link_url": "lien « Accéder au document » vers le devis en ligne (à ne pas retirer)",
    "signature_requested": "drapeau (vrai/faux) : une signature électronique est demandée",
    "viewer_email": "qui a consulté / téléchargé le devis",
    "ip": "adresse IP de la consultation, du téléchargement ou de la signature",
    "user_agent": "navigateur utilisé",
    "date": "date de l'action (3 avril 2026)",
    "time": "heure de l'action (14:05)",
    "views": "liste des consultations regroupées ; chacune a viewer_email, date, time, ip, user_agent",
    "view_count": "nombre de consultations regroupées",
    "first_date": "date de la première consultation regroupée",
    "first_time": "heure de la première consultation regroupée",
    "last_date": "date de la dernière consultation regroupée",
    "last_time": "heure de la dernière consultation regroupée",
    "code": "code à usage unique (à ne pas retirer)",
    "code_expires_time": "heure de fin de validité du code (14:20)",
    "code_valid_minutes": "durée de validité du code, en minutes",
    "signer_name": "nom du signataire",
    "signer_email": "email du signataire",
    "amount": "montant TTC signé, formaté",
    "reason": "motif du refus saisi par le client",
}

# Example values: the editor's preview (fill_samples) and the checks run before a save.
SAMPLE: dict[str, object] = {
    "quote_number": "DV-2026-0042", "quote_title": "Maintenance annuelle", "quote_version": "2",
    "quote_total_ht": "1 028,80 €", "quote_total_ttc": "1 234,56 €", "quote_valid_until": "31 mars 2026",
    "company_name": "Votre société", "account_name": "Client SARL", "recipient_name": "Zoé Lefèvre",
    "recipient_email": "zoe@client.example", "assignee_name": "Jérôme Martin",
    "assignee_email": "jerome@vendeur.example", "assignee_phone": "+33 6 12 34 56 78",
    "link_url": "https://devis.example/d/exemple", "signature_requested": False,
    "viewer_email": "zoe@client.example", "ip": "203.0.113.7", "user_agent": "Mozilla/5.0 Firefox/128.0",
    "date": "3 avril 2026", "time": "14:05", "view_count": "2",
    "views": [{"viewer_email": "zoe@client.example", "date": "3 avril 2026", "time": "14:09", "ip": "203.0.113.7",
               "user_agent": "Mozilla/5.0 Firefox/128.0"},
              {"viewer_email": "zoe@client.example", "date": "3 avril 2026", "time": "14:17", "ip": "203.0.113.7",
               "user_agent": "Mozilla/5.0 Firefox/128.0"}],
    "first_date": "3 avril 2026", "first_time": "14:09", "last_date": "3 avril 2026", "last_time": "14:17",
    "code": "482913", "code_expires_time": "14:15", "code_valid_minutes": "10",
    "signer_name": "Zoé Lefèvre", "signer_email": "zoe@client.example", "amount": "1 234,56 €",
    "reason": "Le délai de livraison ne nous convient pas.",
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
{% block footer %}<p style="font-size:12px;color:#666;">Notification envoyée par Quoteflow selon vos préférences utilisateur.</p>{% endblock %}
</div>
</body>
</html>
"""

LAYOUTS = ("layout/document.html", "layout/notice.html")

_SIGNOFF_TEXT = """Cordialement,
{{ assignee_name }}
{% if company_name %}{{ company_name }}
{% endif %}"""

_SIGNOFF_HTML = """<p>Cordialement,<br>{{ assignee_name }}{% if company_name %}<br>{{ company_name }}{% endif %}</p>"""

_VIEW_TEXT = """Bonjour{% if assignee_name %} {{ assignee_name }}{% endif %},

Le devis {{ quote_number }}{% if account_name %} ({{ account_name }}){% endif %} a été __VERB__ par {{ viewer_email }} le {{ date }} à {{ time }}{% if ip %} (adresse IP : {{ ip }}){% endif %}.
{% if user_agent %}Navigateur : {{ user_agent }}
{% endif %}

__WHAT__ est enregistré__FEM__ dans l'historique du devis.
"""

_VIEW_HTML = """{% extends "layout/notice.html" %}
{% block content %}
<p>Bonjour{% if assignee_name %} {{ assignee_name }}{% endif %},</p>
<p>Le devis <strong>{{ quote_number }}</strong>{% if account_name %} ({{ account_name }}){% endif %} a été __VERB__ par {{ viewer_email }} le {{ date }} à {{ time }}{% if ip %} (adresse IP : {{ ip }}){% endif %}.</p>
{% if user_agent %}<p style="font-size:12px;color:#666;">Navigateur : {{ user_agent }}</p>{% endif %}
<p>__WHAT__ est enregistré__FEM__ dans l'historique du devis.</p>
{% endblock %}
"""

_VIEW_SMS = ("Le devis {{ quote_number }} a été __VERB__ par {{ viewer_email }} le {{ date }} à {{ time }}"
             "{% if ip %} (IP {{ ip }}){% endif %}.")


def _action(verb: str, what: str, feminine: str) -> dict[str, str]:
    def fill(source: str) -> str:
        return source.replace("__VERB__", verb).replace("__WHAT__", what).replace("__FEM__", feminine)
    return {
        "subject": "Devis {{ quote_number }} " + verb + " par {{ viewer_email }}",
        "text": fill(_VIEW_TEXT), "html": fill(_VIEW_HTML), "sms": fill(_VIEW_SMS),
    }


_SEND_TEXT = """Bonjour{% if recipient_name %} {{ recipient_name }}{% endif %},

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

""" + _SIGNOFF_TEXT

_SEND_HTML = """{% extends "layout/document.html" %}
{% block content %}
<p>Bonjour{% if recipient_name %} {{ recipient_name }}{% endif %},</p>
<p>Veuillez trouver notre devis <strong>{{ quote_number }}</strong>{% if quote_title %} « {{ quote_title }} »{% endif %}{% if quote_total_ttc %}, d'un montant de {{ quote_total_ttc }} TTC{% endif %}.
{% if quote_valid_until %}Il est valable jusqu'au {{ quote_valid_until }}.{% endif %}</p>
{% if not signature_requested %}<p>Le lien ci-dessous vous permet de le consulter en ligne et de le télécharger au format PDF.</p>{% endif %}
{% endblock %}
{% block closing %}<p>Pour toute question, répondez simplement à cet email.</p>
""" + _SIGNOFF_HTML + "{% endblock %}\n"

DEFAULT_TEMPLATES: dict[str, dict[str, str]] = {
    "quote_send": {
        "subject": "{% if signature_requested %}Demande de signature électronique : devis {{ quote_number }}"
                   "{% else %}Votre devis {{ quote_number }}{% endif %}"
                   "{% if company_name %} – {{ company_name }}{% endif %}",
        "text": _SEND_TEXT,
        "html": _SEND_HTML,
    },
    "quote_signature_request": {
        "subject": "Demande de signature électronique : devis {{ quote_number }}"
                   "{% if company_name %} – {{ company_name }}{% endif %}",
        "text": """Bonjour{% if recipient_name %} {{ recipient_name }}{% endif %},

Veuillez trouver notre devis {{ quote_number }}{% if quote_title %} « {{ quote_title }} »{% endif %}{% if quote_total_ttc %}, d'un montant de {{ quote_total_ttc }} TTC{% endif %}.
{% if quote_valid_until %}Il est valable jusqu'au {{ quote_valid_until }}.
{% endif %}

Demande de signature électronique : une signature électronique vous est demandée. Le lien ci-dessous vous permet de consulter le devis, de le télécharger et de le signer en ligne en quelques instants.

Accéder au document : {{ link_url }}

Pour toute question, répondez simplement à cet email.

""" + _SIGNOFF_TEXT,
        "html": """{% extends "layout/document.html" %}
{% block content %}
<p>Bonjour{% if recipient_name %} {{ recipient_name }}{% endif %},</p>
<p>Veuillez trouver notre devis <strong>{{ quote_number }}</strong>{% if quote_title %} « {{ quote_title }} »{% endif %}{% if quote_total_ttc %}, d'un montant de {{ quote_total_ttc }} TTC{% endif %}.
{% if quote_valid_until %}Il est valable jusqu'au {{ quote_valid_until }}.{% endif %}</p>
{% if not signature_requested %}<p><strong>Demande de signature électronique</strong> : ce lien vous permet de consulter le devis et de le signer en ligne.</p>{% endif %}
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
    "signature_code": {
        "subject": "Votre code pour signer le devis {{ quote_number }}",
        "text": """Bonjour{% if recipient_name %} {{ recipient_name }}{% endif %},

Voici votre code à usage unique pour signer le devis {{ quote_number }} : {{ code }}
{% if code_expires_time %}Il est valable jusqu'à {{ code_expires_time }}{% if code_valid_minutes %} ({{ code_valid_minutes }} minutes){% endif %}.
{% endif %}

Saisissez-le sur la page du devis pour confirmer votre signature. Ne le communiquez à personne : nous ne vous le demanderons jamais.
Si vous n'êtes pas à l'origine de cette demande, ignorez ce message.
""",
        "html": """{% extends "layout/notice.html" %}
{% block content %}
<p>Bonjour{% if recipient_name %} {{ recipient_name }}{% endif %},</p>
<p>Voici votre code à usage unique pour signer le devis <strong>{{ quote_number }}</strong> :</p>
<p style="font-size:28px;letter-spacing:6px;font-weight:bold;text-align:center;margin:24px 0;">{{ code }}</p>
{% if code_expires_time %}<p>Il est valable jusqu'à {{ code_expires_time }}{% if code_valid_minutes %} ({{ code_valid_minutes }} minutes){% endif %}.</p>{% endif %}
<p>Saisissez-le sur la page du devis pour confirmer votre signature. Ne le communiquez à personne : nous ne vous le demanderons jamais.</p>
{% endblock %}
{% block footer %}<p style="font-size:12px;color:#666;">Si vous n'êtes pas à l'origine de cette demande, ignorez ce message.</p>{% endblock %}
""",
        "sms": "Votre code pour signer le devis {{ quote_number }} : {{ code }}"
               "{% if code_expires_time %} (valable jusqu'à {{ code_expires_time }}){% endif %}. "
               "Ne le communiquez à personne.",
    },
    "quote_viewed": _action("consulté", "Cette consultation", "e"),
    "quote_downloaded": _action("téléchargé", "Ce téléchargement", ""),
    "quote_viewed_digest": {
        "subject": "Devis {{ quote_number }} consulté {{ view_count }} fois de plus",
        "text": """Bonjour{% if assignee_name %} {{ assignee_name }}{% endif %},

Le devis {{ quote_number }}{% if account_name %} ({{ account_name }}){% endif %} a de nouveau été consulté {{ view_count }} fois entre {{ first_time }} et {{ last_time }} le {{ last_date }} :
{% for view in views %}
- le {{ view.date }} à {{ view.time }} par {{ view.viewer_email }}{% if view.ip %} (adresse IP : {{ view.ip }}){% endif %}

{% endfor %}

Ces consultations sont enregistrées dans l'historique du devis.
""",
        "html": """{% extends "layout/notice.html" %}
{% block content %}
<p>Bonjour{% if assignee_name %} {{ assignee_name }}{% endif %},</p>
<p>Le devis <strong>{{ quote_number }}</strong>{% if account_name %} ({{ account_name }}){% endif %} a de nouveau été consulté {{ view_count }} fois :</p>
<ul>
{% for view in views %}<li>le {{ view.date }} à {{ view.time }} par {{ view.viewer_email }}{% if view.ip %} (adresse IP : {{ view.ip }}){% endif %}</li>
{% endfor %}</ul>
<p>Ces consultations sont enregistrées dans l'historique du devis.</p>
{% endblock %}
""",
        "sms": "Le devis {{ quote_number }} a de nouveau été consulté {{ view_count }} fois "
               "(de {{ first_time }} à {{ last_time }}).",
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
    "signed_copy": {
        "subject": "Votre devis {{ quote_number }} signé{% if company_name %} – {{ company_name }}{% endif %}",
        "text": """Bonjour{% if signer_name %} {{ signer_name }}{% endif %},

Merci ! Vous avez signé électroniquement le devis {{ quote_number }}{% if quote_title %} « {{ quote_title }} »{% endif %} le {{ date }} à {{ time }}.
{% if amount %}Montant : {{ amount }} TTC.
{% endif %}

Vous trouverez en pièce jointe le devis signé (PDF scellé électroniquement). Conservez-le : toute modification ultérieure du fichier serait détectable.

""" + _SIGNOFF_TEXT,
        "html": """{% extends "layout/notice.html" %}
{% block content %}
<p>Bonjour{% if signer_name %} {{ signer_name }}{% endif %},</p>
<p>Merci ! Vous avez signé électroniquement le devis <strong>{{ quote_number }}</strong>{% if quote_title %} « {{ quote_title }} »{% endif %} le {{ date }} à {{ time }}.</p>
{% if amount %}<p>Montant : <strong>{{ amount }} TTC</strong>.</p>{% endif %}
<p>Vous trouverez en pièce jointe le devis signé (PDF scellé électroniquement). Conservez-le : toute modification ultérieure du fichier serait détectable.</p>
""" + _SIGNOFF_HTML + """
{% endblock %}
{% block footer %}{% endblock %}
""",
    },
    "signature_declined": {
        "subject": "Devis {{ quote_number }} : signature refusée par {{ signer_name }}",
        "text": """Bonjour{% if assignee_name %} {{ assignee_name }}{% endif %},

{{ signer_name }}{% if signer_email %} ({{ signer_email }}){% endif %} a refusé de signer le devis {{ quote_number }} le {{ date }} à {{ time }}.
{% if reason %}
Motif indiqué :
{{ reason }}
{% else %}
Aucun motif n'a été indiqué.
{% endif %}

Ce refus est enregistré dans l'historique du devis.
""",
        "html": """{% extends "layout/notice.html" %}
{% block content %}
<p>Bonjour{% if assignee_name %} {{ assignee_name }}{% endif %},</p>
<p>{{ signer_name }}{% if signer_email %} ({{ signer_email }}){% endif %} a refusé de signer le devis <strong>{{ quote_number }}</strong> le {{ date }} à {{ time }}.</p>
{% if reason %}<p>Motif indiqué :</p>
<blockquote style="border-left:3px solid #ccc;margin:0;padding:4px 12px;">{% for line in reason|lines %}{{ line }}{% if not loop.last %}<br>{% endif %}{% endfor %}</blockquote>
{% else %}<p>Aucun motif n'a été indiqué.</p>{% endif %}
<p>Ce refus est enregistré dans l'historique du devis.</p>
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

SEND_TEMPLATES = tuple(name for name, spec in TEMPLATE_SPECS.items() if spec.selectable)
assert set(DEFAULT_TEMPLATES) == set(TEMPLATE_SPECS), "every spec has its default and back"


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


def _lines(value) -> list[str]:
    return str(value or "").replace("\r\n", "\n").replace("\r", "\n").split("\n")


def default_content(name: str) -> TemplateContent:
    parts = DEFAULT_TEMPLATES[name]
    return TemplateContent(subject=parts["subject"], text=parts["text"], html=parts["html"],
                           sms=parts.get("sms", ""))


PARTS = ("subject", "text", "html", "sms")
MAX_PART = 100_000
_CACHE_SIZE = 512


class TemplateRenderer:
    """Renders templates in two sandboxed environments: HTML parts autoescaped, the others as plain text.

    ``templates`` adds or replaces built-in parts (tests). A tenant's saved version is
    passed to :meth:`render` as ``content``; compiled sources are cached.
    """

    def __init__(self, templates: dict[str, dict[str, str]] | None = None):
        self.templates = {**DEFAULT_TEMPLATES, **(templates or {})}
        sources = {"layout/document.html": _DOCUMENT_LAYOUT, "layout/notice.html": _NOTICE_LAYOUT,
                   "custom/text": _CUSTOM_TEXT, "custom/html": _CUSTOM_HTML}
        options = dict(loader=DictLoader(sources), trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True)
        self.html_env = ImmutableSandboxedEnvironment(autoescape=True, **options)
        self.text_env = ImmutableSandboxedEnvironment(autoescape=False, **options)
        for env in (self.html_env, self.text_env):
            env.filters.update(safe_url=_safe_url, paragraphs=_paragraphs, lines=_lines)
        self._compiled: OrderedDict[tuple[str, str], object] = OrderedDict()
        self._lock = Lock()

    def names(self) -> list[str]:
        return sorted(self.templates)

    def content(self, name: str) -> TemplateContent:
        if name not in self.templates:
            raise TemplateProblem(f"unknown template {name!r}")
        parts = self.templates[name]
        return TemplateContent(subject=parts.get("subject", ""), text=parts.get("text", ""),
                               html=parts.get("html", ""), sms=parts.get("sms", ""))

    def _env(self, part: str):
        return self.html_env if part == "html" else self.text_env

    def compile(self, part: str, source: str):
        key = (part, source)
        with self._lock:
            if key in self._compiled:
                self._compiled.move_to_end(key)
                return self._compiled[key]
        template = self._env(part).from_string(source)
        with self._lock:
            self._compiled[key] = template
            while len(self._compiled) > _CACHE_SIZE:
                self._compiled.popitem(last=False)
        return template

    def render(self, name: str, variables: dict, *, content: TemplateContent | None = None,
               subject: str = "", body: str = "") -> Rendered:
        """Renders ``content`` (default: the built-in ``name``); a non-empty ``subject`` or ``body``
        (the salesperson's plain text) replaces the template's."""
        if content is None:
            content = self.content(name)
        values = dict(variables)
        try:
            subject_text = clean_header(subject) or clean_header(self.compile("subject", content.subject).render(values))
            values["subject"] = subject_text
            if body.strip():
                values["body"] = body.replace("\r\n", "\n").replace("\r", "\n").strip("\n")
                text = self.text_env.get_template("custom/text").render(values)
                html = self.html_env.get_template("custom/html").render(values)
            else:
                text = self.compile("text", content.text).render(values)
                html = self.compile("html", content.html).render(values)
            sms = self.compile("sms", content.sms).render(values) if content.sms else ""
        except TemplateNotFound as exc:
            raise TemplateProblem(f"template {name!r} refers to {exc.name!r}, which does not exist") from None
        except TemplateError as exc:  # SecurityError, syntax errors, undefined calls
            raise TemplateProblem(f"template {name!r} cannot be rendered: {exc}") from None
        return Rendered(subject=subject_text, text=_tidy(text), html=html, sms=" ".join(sms.split()))

    # --- checks before a tenant's version is saved ---------------------------------------------

    def used_variables(self, content: TemplateContent) -> set[str]:
        """The variables a template reads (those a preview should have)."""
        used: set[str] = set()
        for part in PARTS:
            source = getattr(content, part)
            if source:
                try:
                    used |= meta.find_undeclared_variables(self._env(part).parse(source))
                except TemplateSyntaxError:
                    pass
        return used - set(self.text_env.globals)

    def validate(self, spec: TemplateSpec, content: TemplateContent) -> dict[str, str]:
        """What is wrong with ``content`` for ``spec``, part by part ({} when it may be saved)."""
        problems: dict[str, str] = {}
        allowed = set(spec.variables) | set(self.text_env.globals) | {"subject"}
        for part in PARTS:
            source = getattr(content, part)
            if part == "sms" and not spec.has_sms:
                if source.strip():
                    problems[part] = "ce modèle ne s'envoie pas par SMS : laissez cette partie vide"
                continue
            if not source.strip():
                problems[part] = "est obligatoire"
                continue
            if len(source) > MAX_PART:
                problems[part] = f"est trop long ({len(source)} caractères, {MAX_PART} au plus)"
                continue
            try:
                tree = self._env(part).parse(source)
            except TemplateSyntaxError as exc:
                problems[part] = f"ligne {exc.lineno} : erreur de syntaxe : {exc.message}"
                continue
            unknown = sorted(meta.find_undeclared_variables(tree) - allowed)
            if unknown:
                line = _first_line(tree, unknown[0])
                problems[part] = (f"ligne {line} : variable inconnue « {unknown[0]} » ; variables possibles : "
                                  + ", ".join(spec.variables))
                continue
            for reference in meta.find_referenced_templates(tree):
                if reference not in LAYOUTS:
                    problems[part] = (f"ligne {_reference_line(tree)} : seuls les gabarits "
                                      f"{', '.join(LAYOUTS)} peuvent être étendus ou inclus")
                    break
        if problems:
            return problems
        return self._check_rendering(spec, content)

    def _check_rendering(self, spec: TemplateSpec, content: TemplateContent) -> dict[str, str]:
        """Renders with example data (with and without a signature request): nothing may fail, and what
        must stay (the document link, the one-time code) must come out of every part."""
        problems: dict[str, str] = {}
        for flag in (False, True):
            values = {**SAMPLE, "signature_requested": flag, **_SENTINELS}
            for part in PARTS:
                source = getattr(content, part)
                if not source or part in problems:
                    continue
                try:
                    output = self.compile(part, source).render(values)
                except TemplateError as exc:
                    problems[part] = f"ne peut pas être rendu : {exc}"
                    continue
                if part == "subject":
                    continue
                for required in spec.required:
                    sentinel = _SENTINELS[required]
                    present = (f'href="{sentinel}"' in output) if (part == "html" and required == "link_url") \
                        else sentinel in output
                    if not present:
                        problems[part] = _REQUIRED_WHY[required]
        return problems


_SENTINELS = {"link_url": "https://quoteflow.invalid/d/lien-du-devis", "code": "731952"}
_REQUIRED_WHY = {
    "link_url": "doit garder le lien « Accéder au document » ({{ link_url }}) : sans lui, le client ne peut plus "
                "ouvrir le devis en ligne (le manuel demande de ne jamais modifier ce lien)",
    "code": "doit contenir le code à usage unique ({{ code }}) : sans lui, le signataire ne peut pas signer",
}


def _first_line(tree, name: str) -> int:
    lines = [node.lineno for node in tree.find_all(nodes.Name) if node.name == name and node.ctx == "load"]
    return min(lines) if lines else 1


def _reference_line(tree) -> int:
    for node in tree.find_all((nodes.Extends, nodes.Include, nodes.Import, nodes.FromImport)):
        if not (isinstance(node.template, nodes.Const) and node.template.value in LAYOUTS):
            return node.lineno
    return 1


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


def moment(when, timezone: str) -> tuple[str, str]:
    """An RFC 3339 time (or an aware datetime) -> ('3 avril 2026', '14:05') in ``timezone``."""
    if isinstance(when, str):
        try:
            when = datetime.fromisoformat(when.replace("Z", "+00:00"))
        except ValueError:
            return "", ""
    if not isinstance(when, datetime):
        return "", ""
    zone = ZoneInfo(timezone)
    if when.tzinfo is None:
        when = when.replace(tzinfo=ZoneInfo("UTC"))
    return (format_datetime(when, "d MMMM y", tzinfo=zone, locale="fr_FR"),
            format_datetime(when, "HH:mm", tzinfo=zone, locale="fr_FR"))
