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

import re
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime
from html.parser import HTMLParser
from itertools import product
from threading import Lock
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_datetime
from babel.numbers import format_currency
from jinja2 import DictLoader, TemplateError, TemplateNotFound, TemplateSyntaxError, meta, nodes
from jinja2.sandbox import ImmutableSandboxedEnvironment

from quoteflow.decimals import decimal_or_none
from quoteflow.ids import has_line_break
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
    "pdf_attached": "drapeau (vrai/faux) : le PDF du devis est joint à l'email",
    "viewer_name": "qui a consulté / téléchargé le devis : le nom du contact, sinon son email",
    "viewer_email": "email de qui a consulté / téléchargé le devis",
    "ip": "adresse IP de la consultation, du téléchargement ou de la signature",
    "browser": "navigateur et appareil, lisibles (Chrome sur Android)",
    "user_agent": "navigateur utilisé, tel que transmis (User-Agent)",
    "date": "date de l'action (3 avril 2026)",
    "time": "heure de l'action (14:05)",
    "views": "liste des consultations regroupées ; chacune a viewer_name, viewer_email, date, time, ip, browser, "
             "user_agent",
    "view_count": "nombre de consultations regroupées",
    "downloads": "liste des téléchargements regroupés ; chacun a viewer_name, viewer_email, date, time, ip, browser, "
                 "user_agent",
    "download_count": "nombre de téléchargements regroupés",
    "first_date": "date de la première consultation (ou du premier téléchargement) regroupée",
    "first_time": "heure de la première consultation (ou du premier téléchargement) regroupée",
    "last_date": "date de la dernière consultation (ou du dernier téléchargement) regroupée",
    "last_time": "heure de la dernière consultation (ou du dernier téléchargement) regroupée",
    "code": "code à usage unique (à ne pas retirer)",
    "code_expires_time": "heure de fin de validité du code (14:20)",
    "code_valid_minutes": "durée de validité du code, en minutes",
    "signer_name": "nom du signataire",
    "signer_email": "email du signataire",
    "amount": "montant TTC signé, formaté",
    "attachments": "fichiers joints à l'email ; chacun a name (nom du fichier) et description",
    "reason": "motif du refus saisi par le client",
}

_SAMPLE_UA = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Firefox/128.0"

# Example values: the editor's preview (fill_samples) and the checks run before a save.
_SAMPLE_VISITS = [
    {"viewer_name": "Zoé Lefèvre", "viewer_email": "zoe@client.example", "date": "3 avril 2026", "time": "14:09",
     "ip": "203.0.113.7", "browser": "Firefox sur Windows", "user_agent": _SAMPLE_UA},
    {"viewer_name": "Zoé Lefèvre", "viewer_email": "zoe@client.example", "date": "3 avril 2026", "time": "14:17",
     "ip": "203.0.113.7", "browser": "Safari sur iPhone", "user_agent": _SAMPLE_UA},
]

SAMPLE: dict[str, object] = {
    "quote_number": "DV-2026-0042", "quote_title": "Maintenance annuelle", "quote_version": "2",
    "quote_total_ht": "1 028,80 €", "quote_total_ttc": "1 234,56 €", "quote_valid_until": "31 mars 2026",
    "company_name": "Votre société", "account_name": "Client SARL", "recipient_name": "Zoé Lefèvre",
    "recipient_email": "zoe@client.example", "assignee_name": "Jérôme Martin",
    "assignee_email": "jerome@vendeur.example", "assignee_phone": "+33 6 12 34 56 78",
    "link_url": "https://devis.example/d/exemple", "signature_requested": False, "pdf_attached": False,
    "viewer_name": "Zoé Lefèvre", "viewer_email": "zoe@client.example", "ip": "203.0.113.7",
    "browser": "Firefox sur Windows", "user_agent": _SAMPLE_UA,
    "date": "3 avril 2026", "time": "14:05", "view_count": "2",
    "views": _SAMPLE_VISITS, "downloads": _SAMPLE_VISITS, "download_count": "2",
    "first_date": "3 avril 2026", "first_time": "14:09", "last_date": "3 avril 2026", "last_time": "14:17",
    "code": "482913", "code_expires_time": "14:15", "code_valid_minutes": "10",
    "signer_name": "Zoé Lefèvre", "signer_email": "zoe@client.example", "amount": "1 234,56 €",
    "attachments": [{"name": "Devis-DV-2026-0042-signe.pdf", "description": "le devis signé, scellé électroniquement"},
                    {"name": "Preuves-DV-2026-0042.pdf", "description": "le dossier de preuve de la signature"},
                    {"name": "Preuves-DV-2026-0042.json", "description": "le même dossier de preuve au format JSON"}],
    "reason": "Le délai de livraison ne nous convient pas.",
}

# One sentence per case, the same in the text and HTML parts (the HTML puts its prefix in bold).
_SIGN_PREFIX = "Demande de signature électronique"
_SIGN_REQUEST = ("une signature électronique vous est demandée. Le lien ci-dessous vous permet de consulter le "
                 "devis, de le télécharger et de le signer en ligne en quelques instants.")
_SIGN_RELANCE = ("le devis attend votre signature. Le lien ci-dessous vous permet de le relire, de le télécharger "
                 "et de le signer en ligne en quelques instants.")
_SIGN_DEFAULT = "ce lien vous permet de consulter le devis, de le télécharger et de le signer en ligne."


def _sign_html(sentence: str) -> str:
    return f"<p><strong>{_SIGN_PREFIX}</strong> : {sentence}</p>"


# The « Accéder au document » button and the link spelled out: the document layout's, and what is added at
# send time to an HTML part that does not show the link (TemplateRenderer.ensure_link).
_LINK_BLOCK = """<p style="margin:28px 0;text-align:center;"><a href="{{ link_url|safe_url }}" style="background:#1f5fbf;color:#fff;padding:12px 24px;border-radius:4px;text-decoration:none;font-weight:bold;display:inline-block;">Accéder au document</a></p>
<p style="font-size:12px;color:#666;">Si le bouton ne fonctionne pas, copiez ce lien dans votre navigateur :<br><a href="{{ link_url|safe_url }}" style="color:#1f5fbf;">{{ link_url }}</a></p>
"""
_LINK_TEXT = "Accéder au document : {url}"

_DOCUMENT_LAYOUT = """<!DOCTYPE html>
<html lang="fr">
<head><meta charset="utf-8"><title>{{ subject }}</title></head>
<body style="margin:0;padding:24px;background:#f4f5f7;font-family:Arial,Helvetica,sans-serif;color:#222;">
<div style="max-width:600px;margin:0 auto;background:#fff;padding:28px;border-radius:6px;">
{% block content %}{% endblock %}
{% block signature %}{% if signature_requested %}
""" + _sign_html(_SIGN_DEFAULT) + """
{% endif %}{% endblock %}
""" + _LINK_BLOCK + """{% block closing %}{% endblock %}
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
{% block footer %}<p style="font-size:12px;color:#666;">Message envoyé automatiquement par Quoteflow.</p>{% endblock %}
</div>
</body>
</html>
"""

LAYOUTS = ("layout/document.html", "layout/notice.html")

# Only the alerts a salesperson chose (views, downloads) say so.
_PREFERENCES_FOOTER = ('{% block footer %}<p style="font-size:12px;color:#666;">Notification envoyée par Quoteflow '
                       "selon vos préférences utilisateur.</p>{% endblock %}\n")

_SIGNOFF_TEXT = """Cordialement,
{% if assignee_name %}{{ assignee_name }}
{% endif %}{% if company_name %}{{ company_name }}
{% endif %}"""

_SIGNOFF_HTML = ("<p>Cordialement,{% if assignee_name %}<br>{{ assignee_name }}{% endif %}"
                 "{% if company_name %}<br>{{ company_name }}{% endif %}</p>")

_QUOTE_NAMED = ("{% if quote_title %} « {{ quote_title }} »{% endif %}"
                "{% if account_name %} ({{ account_name }}){% endif %}")

_VIEW_TEXT = """Bonjour{% if assignee_name %} {{ assignee_name }}{% endif %},

Le devis {{ quote_number }}""" + _QUOTE_NAMED + """ a été __VERB__ par {{ viewer_name or viewer_email }}{% if viewer_name and viewer_email and viewer_email != viewer_name %} ({{ viewer_email }}){% endif %} le {{ date }} à {{ time }}{% if ip %} (adresse IP : {{ ip }}){% endif %}.
{% if browser %}Navigateur : {{ browser }}
{% endif %}

__WHAT__ est enregistré__FEM__ dans l'historique du devis.
{% if user_agent %}

User-Agent : {{ user_agent }}
{% endif %}
"""

_VIEW_HTML = """{% extends "layout/notice.html" %}
{% block content %}
<p>Bonjour{% if assignee_name %} {{ assignee_name }}{% endif %},</p>
<p>Le devis <strong>{{ quote_number }}</strong>""" + _QUOTE_NAMED + """ a été __VERB__ par <strong>{{ viewer_name or viewer_email }}</strong>{% if viewer_name and viewer_email and viewer_email != viewer_name %} ({{ viewer_email }}){% endif %} le {{ date }} à {{ time }}{% if ip %} (adresse IP : {{ ip }}){% endif %}.</p>
{% if browser %}<p>Navigateur : {{ browser }}</p>{% endif %}
<p>__WHAT__ est enregistré__FEM__ dans l'historique du devis.</p>
{% if user_agent %}<p style="font-size:11px;color:#888;">User-Agent : {{ user_agent }}</p>{% endif %}
{% endblock %}
""" + _PREFERENCES_FOOTER

_VIEW_SMS = ("Le devis {{ quote_number }} a été __VERB__ par {{ viewer_name or viewer_email }} le {{ date }} à {{ time }}"
             "{% if browser %} ({{ browser }}){% endif %}.")


def _action(verb: str, what: str, feminine: str) -> dict[str, str]:
    def fill(source: str) -> str:
        return source.replace("__VERB__", verb).replace("__WHAT__", what).replace("__FEM__", feminine)
    return {
        "subject": "Devis {{ quote_number }} " + verb + " par {{ viewer_name or viewer_email }}",
        "text": fill(_VIEW_TEXT), "html": fill(_VIEW_HTML), "sms": fill(_VIEW_SMS),
    }


def _digest(verb: str, listed: str, counted: str, recorded: str) -> dict[str, str]:
    """The digest of the views (or downloads) gathered in a window: ``listed`` and ``counted`` name the list
    and its count."""
    source = {
        "subject": "Devis {{ quote_number }} __VERB__ {{ __COUNT__ }} fois de plus",
        "text": """Bonjour{% if assignee_name %} {{ assignee_name }}{% endif %},

Le devis {{ quote_number }}""" + _QUOTE_NAMED + """ a de nouveau été __VERB__ {{ __COUNT__ }} fois entre {{ first_time }} et {{ last_time }} le {{ last_date }} :
{% for visit in __LIST__ %}
- le {{ visit.date }} à {{ visit.time }} par {{ visit.viewer_name or visit.viewer_email }}{% if visit.browser %}, {{ visit.browser }}{% endif %}{% if visit.ip %} (adresse IP : {{ visit.ip }}){% endif %}

{% endfor %}

__REC__ dans l'historique du devis.
""",
        "html": """{% extends "layout/notice.html" %}
{% block content %}
<p>Bonjour{% if assignee_name %} {{ assignee_name }}{% endif %},</p>
<p>Le devis <strong>{{ quote_number }}</strong>""" + _QUOTE_NAMED + """ a de nouveau été __VERB__ {{ __COUNT__ }} fois entre {{ first_time }} et {{ last_time }} le {{ last_date }} :</p>
<ul>
{% for visit in __LIST__ %}<li>le {{ visit.date }} à {{ visit.time }} par {{ visit.viewer_name or visit.viewer_email }}{% if visit.browser %}, {{ visit.browser }}{% endif %}{% if visit.ip %} (adresse IP : {{ visit.ip }}){% endif %}</li>
{% endfor %}</ul>
<p>__REC__ dans l'historique du devis.</p>
{% endblock %}
""" + _PREFERENCES_FOOTER,
        "sms": "Le devis {{ quote_number }} a de nouveau été __VERB__ {{ __COUNT__ }} fois "
               "(de {{ first_time }} à {{ last_time }}).",
    }
    names = {"__LIST__": listed, "__COUNT__": counted, "__VERB__": verb, "__REC__": recorded}
    return {part: re.sub("|".join(names), lambda m: names[m.group()], text) for part, text in source.items()}


# « Veuillez trouver ci-joint » only when the PDF is attached; else the link brings the quote.
_SEND_OPENING = ("{% if pdf_attached %}Veuillez trouver ci-joint notre devis{% else %}Nous avons le plaisir de vous "
                 "transmettre notre devis{% endif %}")
_SEND_FIRST_TEXT = """Bonjour{% if recipient_name %} {{ recipient_name }}{% endif %},

""" + _SEND_OPENING + """ {{ quote_number }}{% if quote_title %} « {{ quote_title }} »{% endif %}{% if quote_total_ttc %}, d'un montant de {{ quote_total_ttc }} TTC{% endif %}.
{% if quote_valid_until %}Il est valable jusqu'au {{ quote_valid_until }}.
{% endif %}
"""
_SEND_FIRST_HTML = """<p>Bonjour{% if recipient_name %} {{ recipient_name }}{% endif %},</p>
<p>""" + _SEND_OPENING + """ <strong>{{ quote_number }}</strong>{% if quote_title %} « {{ quote_title }} »{% endif %}{% if quote_total_ttc %}, d'un montant de {{ quote_total_ttc }} TTC{% endif %}.
{% if quote_valid_until %}Il est valable jusqu'au {{ quote_valid_until }}.{% endif %}</p>
"""
_SEND_LINK_ONLY = "Le lien ci-dessous vous permet de le consulter en ligne et de le télécharger au format PDF."
_SEND_CLOSING_TEXT = """
Accéder au document : {{ link_url }}

Pour toute question, répondez simplement à cet email.

""" + _SIGNOFF_TEXT
_SEND_CLOSING_HTML = """{% block closing %}<p>Pour toute question, répondez simplement à cet email.</p>
""" + _SIGNOFF_HTML + "{% endblock %}\n"

DEFAULT_TEMPLATES: dict[str, dict[str, str]] = {
    "quote_send": {
        "subject": "{% if signature_requested %}Demande de signature électronique : devis {{ quote_number }}"
                   "{% else %}Votre devis {{ quote_number }}{% endif %}"
                   "{% if company_name %} – {{ company_name }}{% endif %}",
        "text": _SEND_FIRST_TEXT + """
{% if signature_requested %}
""" + f"{_SIGN_PREFIX} : {_SIGN_REQUEST}" + """
{% else %}
""" + _SEND_LINK_ONLY + """
{% endif %}
""" + _SEND_CLOSING_TEXT,
        "html": """{% extends "layout/document.html" %}
{% block content %}
""" + _SEND_FIRST_HTML + """{% if not signature_requested %}<p>""" + _SEND_LINK_ONLY + """</p>{% endif %}
{% endblock %}
{% block signature %}{% if signature_requested %}""" + _sign_html(_SIGN_REQUEST) + """{% endif %}{% endblock %}
""" + _SEND_CLOSING_HTML,
    },
    "quote_signature_request": {
        "subject": "Demande de signature électronique : devis {{ quote_number }}"
                   "{% if company_name %} – {{ company_name }}{% endif %}",
        "text": _SEND_FIRST_TEXT + "\n" + f"{_SIGN_PREFIX} : {_SIGN_REQUEST}\n" + _SEND_CLOSING_TEXT,
        "html": """{% extends "layout/document.html" %}
{% block content %}
""" + _SEND_FIRST_HTML + """{% endblock %}
{% block signature %}""" + _sign_html(_SIGN_REQUEST) + """{% endblock %}
""" + _SEND_CLOSING_HTML,
    },
    "quote_relance": {
        "subject": "Relance : {% if signature_requested %}signature électronique de votre devis"
                   "{% else %}votre devis{% endif %} {{ quote_number }}"
                   "{% if company_name %} – {{ company_name }}{% endif %}",
        "text": """Bonjour{% if recipient_name %} {{ recipient_name }}{% endif %},

Nous revenons vers vous au sujet de notre devis {{ quote_number }}{% if quote_title %} « {{ quote_title }} »{% endif %} que nous vous avons adressé récemment. Avez-vous pu en prendre connaissance ?{% if pdf_attached %} Vous le trouverez de nouveau en pièce jointe.{% endif +%}
{% if quote_valid_until %}Pour rappel, notre proposition reste valable jusqu'au {{ quote_valid_until }}.
{% endif %}

{% if signature_requested %}
""" + f"{_SIGN_PREFIX} : {_SIGN_RELANCE}" + """
{% else %}
Le devis reste consultable en ligne par le lien ci-dessous.
{% endif %}

Accéder au document : {{ link_url }}

Nous restons à votre disposition pour en discuter ou l'ajuster à vos besoins.

""" + _SIGNOFF_TEXT,
        "html": """{% extends "layout/document.html" %}
{% block content %}
<p>Bonjour{% if recipient_name %} {{ recipient_name }}{% endif %},</p>
<p>Nous revenons vers vous au sujet de notre devis <strong>{{ quote_number }}</strong>{% if quote_title %} « {{ quote_title }} »{% endif %} que nous vous avons adressé récemment. Avez-vous pu en prendre connaissance ?{% if pdf_attached %} Vous le trouverez de nouveau en pièce jointe.{% endif %}</p>
{% if quote_valid_until %}<p>Pour rappel, notre proposition reste valable jusqu'au {{ quote_valid_until }}.</p>{% endif %}
{% if not signature_requested %}<p>Le devis reste consultable en ligne par le lien ci-dessous.</p>{% endif %}
{% endblock %}
{% block signature %}{% if signature_requested %}""" + _sign_html(_SIGN_RELANCE) + """{% endif %}{% endblock %}
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

""" + _SIGNOFF_TEXT + """

Si vous n'êtes pas à l'origine de cette demande, ignorez ce message.
""",
        "html": """{% extends "layout/notice.html" %}
{% block content %}
<p>Bonjour{% if recipient_name %} {{ recipient_name }}{% endif %},</p>
<p>Voici votre code à usage unique pour signer le devis <strong>{{ quote_number }}</strong> :</p>
<p style="font-size:28px;letter-spacing:6px;font-weight:bold;text-align:center;margin:24px 0;">{{ code }}</p>
{% if code_expires_time %}<p>Il est valable jusqu'à {{ code_expires_time }}{% if code_valid_minutes %} ({{ code_valid_minutes }} minutes){% endif %}.</p>{% endif %}
<p>Saisissez-le sur la page du devis pour confirmer votre signature. Ne le communiquez à personne : nous ne vous le demanderons jamais.</p>
""" + _SIGNOFF_HTML + """
{% endblock %}
{% block footer %}<p style="font-size:12px;color:#666;">Si vous n'êtes pas à l'origine de cette demande, ignorez ce message.</p>{% endblock %}
""",
        "sms": "Votre code pour signer le devis {{ quote_number }} : {{ code }}"
               "{% if code_expires_time %} (valable jusqu'à {{ code_expires_time }}){% endif %}. "
               "Ne le communiquez à personne.",
    },
    "quote_viewed": _action("consulté", "Cette consultation", "e"),
    "quote_downloaded": _action("téléchargé", "Ce téléchargement", ""),
    "quote_viewed_digest": _digest("consulté", "views", "view_count", "Ces consultations sont enregistrées"),
    "quote_downloaded_digest": _digest("téléchargé", "downloads", "download_count",
                                       "Ces téléchargements sont enregistrés"),
    "signature_confirmation": {
        "subject": "Devis {{ quote_number }} signé par {{ signer_name }} – Accepté",
        "text": """Bonjour{% if assignee_name %} {{ assignee_name }}{% endif %},

Le devis {{ quote_number }}""" + _QUOTE_NAMED + """ a été signé électroniquement par {{ signer_name }}{% if signer_email %} ({{ signer_email }}){% endif %} le {{ date }} à {{ time }}.
{% if amount %}Montant signé : {{ amount }} TTC.
{% endif %}

Le devis est désormais au statut « Accepté ».
{% if attachments %}

Les preuves de la signature sont jointes à cet email :
{% for file in attachments %}
- {{ file.name }} : {{ file.description }}
{% endfor %}

Conservez-les avec le dossier du client ; elles restent disponibles dans le bandeau du devis.
{% else %}
Les preuves de la signature sont disponibles dans le bandeau du devis.
{% endif %}
""",
        "html": """{% extends "layout/notice.html" %}
{% block content %}
<p>Bonjour{% if assignee_name %} {{ assignee_name }}{% endif %},</p>
<p>Le devis <strong>{{ quote_number }}</strong>""" + _QUOTE_NAMED + """ a été signé électroniquement par {{ signer_name }}{% if signer_email %} ({{ signer_email }}){% endif %} le {{ date }} à {{ time }}.</p>
{% if amount %}<p>Montant signé : <strong>{{ amount }} TTC</strong>.</p>{% endif %}
<p>Le devis est désormais au statut <strong>« Accepté »</strong>.</p>
{% if attachments %}<p>Les preuves de la signature sont jointes à cet email :</p>
<ul>
{% for file in attachments %}<li><strong>{{ file.name }}</strong> : {{ file.description }}</li>
{% endfor %}</ul>
<p>Conservez-les avec le dossier du client ; elles restent disponibles dans le bandeau du devis.</p>
{% else %}<p>Les preuves de la signature sont disponibles dans le bandeau du devis.</p>{% endif %}
{% endblock %}
""",
    },
    "signed_copy": {
        "subject": "Votre devis {{ quote_number }} signé{% if company_name %} – {{ company_name }}{% endif %}",
        "text": """Bonjour{% if signer_name %} {{ signer_name }}{% endif %},

Merci ! Vous avez signé électroniquement le devis {{ quote_number }}{% if quote_title %} « {{ quote_title }} »{% endif %} le {{ date }} à {{ time }}.
{% if amount %}Montant : {{ amount }} TTC.
{% endif %}

{% if attachments %}
Vous trouverez en pièce jointe le devis signé (PDF scellé électroniquement). Conservez-le : toute modification ultérieure du fichier serait détectable.
{% else %}
Votre signature est enregistrée ; le devis signé reste consultable par le lien de notre email d'envoi.
{% endif %}

""" + _SIGNOFF_TEXT,
        "html": """{% extends "layout/notice.html" %}
{% block content %}
<p>Bonjour{% if signer_name %} {{ signer_name }}{% endif %},</p>
<p>Merci ! Vous avez signé électroniquement le devis <strong>{{ quote_number }}</strong>{% if quote_title %} « {{ quote_title }} »{% endif %} le {{ date }} à {{ time }}.</p>
{% if amount %}<p>Montant : <strong>{{ amount }} TTC</strong>.</p>{% endif %}
{% if attachments %}<p>Vous trouverez en pièce jointe le devis signé (PDF scellé électroniquement). Conservez-le : toute modification ultérieure du fichier serait détectable.</p>
{% else %}<p>Votre signature est enregistrée ; le devis signé reste consultable par le lien de notre email d'envoi.</p>{% endif %}
""" + _SIGNOFF_HTML + """
{% endblock %}
{% block footer %}{% endblock %}
""",
    },
    "signature_declined": {
        "subject": "Devis {{ quote_number }} : signature refusée par {{ signer_name }}",
        "text": """Bonjour{% if assignee_name %} {{ assignee_name }}{% endif %},

{{ signer_name }}{% if signer_email %} ({{ signer_email }}){% endif %} a refusé de signer le devis {{ quote_number }}""" + _QUOTE_NAMED + """ le {{ date }} à {{ time }}.
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
<p>{{ signer_name }}{% if signer_email %} ({{ signer_email }}){% endif %} a refusé de signer le devis <strong>{{ quote_number }}</strong>""" + _QUOTE_NAMED + """ le {{ date }} à {{ time }}.</p>
{% if reason %}<p>Motif indiqué :</p>
<blockquote style="border-left:3px solid #ccc;margin:0;padding:4px 12px;">{% for line in reason|lines %}{{ line }}{% if not loop.last %}<br>{% endif %}{% endfor %}</blockquote>
{% else %}<p>Aucun motif n'a été indiqué.</p>{% endif %}
<p>Ce refus est enregistré dans l'historique du devis.</p>
{% endblock %}
""",
    },
}

# The layout around a body the salesperson typed (plain text): the signature request and the link always follow.
_CUSTOM_TEXT = """{{ body }}
{% if signature_requested %}

""" + f"{_SIGN_PREFIX} : {_SIGN_DEFAULT}" + """
{% endif %}
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
        except _RUNTIME_ERRORS as exc:  # the template's own arithmetic or types: {{ quote_number + 1 }}
            raise TemplateProblem(f"template {name!r} cannot be rendered: {type(exc).__name__}: {exc}") from None
        return Rendered(subject=subject_text, text=_tidy(text), html=html, sms=" ".join(sms.split()))

    def ensure_link(self, rendered: Rendered, url: str) -> tuple[Rendered, list[str]]:
        """``rendered`` with the standard « Accéder au document » link added to each of its text and HTML
        parts that does not show ``url`` (a template saved before the checks of :meth:`validate`, or one
        they could not foresee), and the parts it was added to."""
        if not url.lower().startswith(("https://", "http://")):
            return rendered, []
        text, html, added = rendered.text, rendered.html, []
        if url not in text:
            text = _tidy(f"{text}\n\n{_LINK_TEXT.format(url=url)}\n")
            added.append("text")
        if not shows_link(html, url):
            html = _with_block(html, self.html_env.from_string(_LINK_BLOCK).render(link_url=url), url)
            added.append("html")
        return Rendered(subject=rendered.subject, text=text, html=html, sms=rendered.sms), added

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
            if "\0" in source:  # nothing a template needs, and PostgreSQL cannot store it
                line = source[:source.index("\0")].count("\n") + 1
                problems[part] = f"ligne {line} : caractère nul (U+0000) interdit"
                continue
            if len(source) > MAX_PART:
                problems[part] = f"est trop long ({len(source)} caractères, {MAX_PART} au plus)"
                continue
            if part == "subject" and has_line_break(source):
                problems[part] = _SUBJECT_ONE_LINE
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
        """Renders with example data in every case of :func:`_cases` (each variable filled, then empty, the
        flags both ways): nothing may fail, and what must stay (the document link, the one-time code) must
        come out of every part in every case; in the HTML part the link must be one a reader sees and can
        click (not in a comment nor a hidden element)."""
        problems: dict[str, str] = {}
        for case, values in _cases(spec):
            values = {**values, **_SENTINELS}
            for part in PARTS:
                source = getattr(content, part)
                if not source or part in problems:
                    continue
                try:
                    output = self.compile(part, source).render(values)
                except (TemplateError, *_RUNTIME_ERRORS) as exc:
                    problems[part] = f"ne peut pas être rendu{case and f' quand {case}'} : {exc}"
                    continue
                if part == "subject":
                    if has_line_break(output):
                        problems[part] = _SUBJECT_ONE_LINE + (f" ; il en a un quand {case}" if case else "")
                    continue
                for required in spec.required:
                    sentinel = _SENTINELS[required]
                    shown = shows_link(output, sentinel) if (part == "html" and required == "link_url") \
                        else sentinel in output
                    if not shown:
                        why = _REQUIRED_WHY[required]
                        if case:
                            why += f" ; il disparaît quand {case}"
                        if sentinel in output and part == "html":
                            why += (" ; un lien en commentaire HTML, dans un élément caché (display:none, hidden…) "
                                    "ou sans texte visible ne compte pas")
                        problems[part] = why
        return problems


_SUBJECT_ONE_LINE = ("doit tenir sur une seule ligne : retirez le saut de ligne (l'objet d'un email n'en a pas, "
                     "il serait remplacé par une espace à l'envoi)")
_SENTINELS = {"link_url": "https://quoteflow.invalid/d/lien-du-devis", "code": "731952"}
_REQUIRED_WHY = {
    "link_url": "doit garder le lien « Accéder au document » ({{ link_url }}) : sans lui, le client ne peut plus "
                "ouvrir le devis en ligne (le manuel demande de ne jamais modifier ce lien)",
    "code": "doit contenir le code à usage unique ({{ code }}) : sans lui, le signataire ne peut pas signer",
}
_FLAGS = ("signature_requested", "pdf_attached")
# What a template's own expressions may raise at render time, besides Jinja's errors.
_RUNTIME_ERRORS = (ArithmeticError, TypeError, ValueError, LookupError, AttributeError)


def _empty(value):
    return [] if isinstance(value, list) else ""


def _and(items: list[str]) -> str:
    return " et ".join([", ".join(items[:-1]), items[-1]] if len(items) > 1 else items)


def _cases(spec: TemplateSpec):
    """(what the case is, in French, or "" for the first; the variables) to check a template with: every
    variable filled, then every one left empty as a real send may leave it (an assignee without a mobile, a
    quote without a title), each with the flags both ways; then each variable empty alone."""
    flags = [name for name in _FLAGS if name in spec.variables]
    others = [name for name in spec.variables if name not in flags and name not in spec.required]
    for empty in (False, True):
        for setting in product((False, True), repeat=len(flags)):
            values = {**SAMPLE, **dict(zip(flags, setting))}
            said = [f"{name} est {'vrai' if on else 'faux'}" for name, on in zip(flags, setting)]
            if empty:
                values.update({name: _empty(SAMPLE[name]) for name in others})
                said.insert(0, "les variables facultatives sont vides")
            yield (_and(said) if (empty or any(setting)) else ""), values
    for name in others:
        yield f"« {name} » est vide", {**SAMPLE, **{flag: False for flag in flags}, name: _empty(SAMPLE[name])}


# --- is the link there for a reader? ---------------------------------------------------------------

_VOID = frozenset("area base br col embed hr img input link meta param source track wbr".split())
_UNSHOWN_TAGS = frozenset(("head", "title", "style", "script", "template"))
_ZERO = r"0*(?:\.0*)?(?:px|pt|em|rem|%)?(?:[;!]|$)"
_HIDING_STYLE = re.compile(rf"display:none|visibility:(?:hidden|collapse)|mso-hide:all|opacity:{_ZERO}"
                           rf"|font-size:{_ZERO}|(?:left|top|text-indent|margin-left|margin-top):-\d{{3,}}")
_NO_ROOM = re.compile(rf"(?:^|;)(?:max-)?(?:height|width):{_ZERO}")


def _hides(tag: str, attrs: list[tuple[str, str | None]]) -> bool:
    found = dict(attrs)
    style = re.sub(r"\s+", "", (found.get("style") or "").lower())
    squeezed = bool(_NO_ROOM.search(style)) and "overflow:hidden" in style
    return tag in _UNSHOWN_TAGS or "hidden" in found or squeezed or bool(_HIDING_STYLE.search(style))


class _Links(HTMLParser):
    """The links of an HTML part a reader sees: (href, shown) of each <a>; shown when neither it nor an element
    around it is hidden and it has visible text or an image. Comments are not elements: what they hold is
    never seen."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.open: list[tuple[str, bool]] = []  # (tag, hidden) of the open elements
        self.anchor: list | None = None         # [href, shown so far, seen content]
        self.found: list[tuple[str, bool]] = []

    def _hidden(self) -> bool:
        return any(hidden for _, hidden in self.open)

    def handle_starttag(self, tag, attrs):
        if tag == "a":
            self._close_anchor()
            self.anchor = [dict(attrs).get("href") or "", not (self._hidden() or _hides(tag, attrs)), False]
        elif tag == "img" and self.anchor is not None and not (self._hidden() or _hides(tag, attrs)):
            self.anchor[2] = True
        if tag not in _VOID:
            self.open.append((tag, _hides(tag, attrs)))

    def handle_startendtag(self, tag, attrs):
        if tag == "img" and self.anchor is not None and not (self._hidden() or _hides(tag, attrs)):
            self.anchor[2] = True

    def handle_endtag(self, tag):
        if tag == "a":
            self._close_anchor()
        for at in range(len(self.open) - 1, -1, -1):
            if self.open[at][0] == tag:
                del self.open[at:]
                break

    def handle_data(self, data):
        if self.anchor is not None and data.strip() and not self._hidden():
            self.anchor[2] = True

    def _close_anchor(self):
        if self.anchor is not None:
            href, shown, content = self.anchor
            self.found.append((href, shown and content))
            self.anchor = None

    def close(self):
        super().close()
        self._close_anchor()


def shows_link(html: str, url: str) -> bool:
    """Whether ``html`` has a link to exactly ``url`` that a reader sees and can click."""
    parser = _Links()
    parser.feed(html)
    parser.close()
    return any(href == url and shown for href, shown in parser.found)


_BODY_END = re.compile(r"</body\s*>", re.IGNORECASE)
_BODY_START = re.compile(r"<body[^>]*>", re.IGNORECASE)


def _with_block(html: str, block: str, url: str) -> str:
    """``html`` with the link ``block`` added at the end of its body, else at its start (where no element of
    the template can hide it)."""
    end, start = _BODY_END.search(html), _BODY_START.search(html)
    candidates = [html[:end.start()] + block + html[end.start():]] if end else [html + "\n" + block]
    candidates.append(html[:start.end()] + "\n" + block + html[start.end():] if start else block + html)
    return next((candidate for candidate in candidates if shows_link(candidate, url)), candidates[-1])


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
    """'1234.56' -> '1 234,56 €' (French, narrow no-break spaces); '' when not a number in the wire form."""
    value = decimal_or_none(amount)
    return format_currency(value, currency or "EUR", locale="fr_FR") if value is not None else ""


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
