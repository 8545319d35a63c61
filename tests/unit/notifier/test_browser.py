"""User-Agents as a salesperson reads them, and SMS text kept in the GSM-7 alphabet."""
import pytest

from services.notifier.adapters.sms import SMS_PART, gsm7, septets
from services.notifier.domain.browser import describe

AGENTS = {
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.6367.82 Mobile "
    "Safari/537.36": "Chrome sur Android",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 "
    "Mobile/15E148 Safari/604.1": "Safari sur iPhone",
    "Mozilla/5.0 (iPad; CPU OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 "
    "Mobile/15E148 Safari/604.1": "Safari sur iPad",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "CriOS/124.0.6367.88 Mobile/15E148 Safari/604.1": "Chrome sur iPhone",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) FxiOS/125.0 "
    "Mobile/15E148 Safari/605.1.15": "Firefox sur iPhone",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:125.0) Gecko/20100101 Firefox/125.0": "Firefox sur Windows",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 "
    "Safari/537.36 Edg/124.0.2478.67": "Edge sur Windows",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 "
    "Safari/537.36 OPR/109.0.0.0": "Opera sur Windows",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 "
    "Safari/605.1.15": "Safari sur Mac",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 "
    "Safari/537.36": "Chrome sur Mac",
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36":
        "Chrome sur Linux",
    "Mozilla/5.0 (X11; CrOS x86_64 14541.0.0) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 "
    "Safari/537.36": "Chrome sur ChromeOS",
    "Mozilla/5.0 (Linux; Android 14; SAMSUNG SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/24.0 "
    "Chrome/117.0.0.0 Mobile Safari/537.36": "Samsung Internet sur Android",
    "Mozilla/5.0 (Android 14; Mobile; rv:125.0) Gecko/125.0 Firefox/125.0": "Firefox sur Android",
    "Mozilla/5.0 (Linux; Android 14; Pixel 8 Build/AP1A; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 "
    "Chrome/124.0.6367.82 Mobile Safari/537.36": "Chrome sur Android",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Mobile/15E148 [FBAN/FBIOS;FBAV/458.0.0.40.95;FBBV/577052397]": "Facebook sur iPhone",
    "Mozilla/5.0 Firefox/128.0": "Firefox",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64)": "navigateur sur Windows",
    "curl/8.5.0": "",
    "": "",
}


@pytest.mark.parametrize("user_agent, shown", AGENTS.items())
def test_a_user_agent_reads_as_browser_and_device(user_agent, shown):
    assert describe(user_agent) == shown


def test_french_text_is_kept_in_gsm7():
    assert gsm7("é è à ù É Ç ü ö ä ñ") == "é è à ù É Ç ü ö ä ñ"  # all GSM-7 already: unchanged
    assert gsm7("ê â î ô û ç ë ï Ê À Î Ô œ Œ") == "e a i o u c e i E A I O oe OE"
    assert gsm7("Hélène Gaëtan-Müller") == "Hélène Gaetan-Müller"
    assert gsm7("« Fenêtres PVC » – 1\u202f234,56\u00a0€ … l’été") == '"Fenetres PVC" - 1 234,56 € ... l\'été'
    assert gsm7("王芳 a consulté le devis") == "王芳 a consulté le devis"  # another script: UCS-2, left as it is
    assert septets("1 234,56 €") == 11 and septets("Noël") == -1 and septets(gsm7("Noël")) == 4
    assert SMS_PART == 160
