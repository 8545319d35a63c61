"""Every environment variable the notifier reads, with embedded defaults."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from quoteflow import sealing
from quoteflow.config import CommonConfig, ConfigError, env, env_int, var_dir

SMTP_TLS_MODES = ("none", "starttls", "ssl")


@dataclass(frozen=True)
class NotifierConfig:
    common: CommonConfig
    grpc_address: str = "127.0.0.1:50053"
    smtp_host: str = ""              # empty: write mail to the Maildir sink
    smtp_port: int = 25
    smtp_user: str = ""
    smtp_password: str = ""
    smtp_tls: str = "none"           # none | starttls | ssl
    smtp_timeout: float = 20.0
    smtp_ca_file: str = ""           # CA bundle to trust for STARTTLS / SSL (empty: the system's)
    mail_from: str = "Quoteflow <devis@quoteflow.localhost>"  # a client's email shows the company's name instead
    mail_sink_dir: Path = Path("var/mail")
    sms_log: Path = Path("var/sms.log")
    vonage_api_key: str = ""
    vonage_api_secret: str = ""
    vonage_from: str = "Quoteflow"
    vonage_rest_host: str = "rest.nexmo.com"   # host[:port] of the SMS API (HTTPS only)
    vonage_api_host: str = "api.nexmo.com"
    vonage_ca_bundle: str = ""       # CA bundle to trust for Vonage (empty: the system's)
    digest_window_seconds: int = 900  # views after a notified one are gathered this long (0: each at once)
    timezone: str = "Europe/Paris"   # how times are written in notifications
    send_attempts: int = 5           # tries per delivery on transient failures
    retry_base_seconds: float = 2.0  # first back-off, doubled at each failure
    sweep_seconds: float = 5.0       # dispatcher sweep for leftovers (crash, back-off)
    code_seal_key: str = ""          # opens one-time codes sealed by signature; "" = derived from the service key

    @property
    def seal_key(self) -> str:
        return sealing.seal_key(self.code_seal_key, self.common.service_key)

    @classmethod
    def from_env(cls) -> "NotifierConfig":
        var = var_dir()
        smtp_tls = env("SMTP_TLS", "none").strip().lower()
        if smtp_tls not in SMTP_TLS_MODES:
            raise ConfigError(f"SMTP_TLS must be one of {', '.join(SMTP_TLS_MODES)}, got {smtp_tls!r}")
        default_port = {"none": 25, "starttls": 587, "ssl": 465}[smtp_tls]
        return cls(
            common=CommonConfig.from_env("notifier"),
            grpc_address=env("NOTIFIER_GRPC_ADDRESS", "127.0.0.1:50053"),
            smtp_host=env("SMTP_HOST", ""),
            smtp_port=env_int("SMTP_PORT", default_port),
            smtp_user=env("SMTP_USER", ""),
            smtp_password=env("SMTP_PASSWORD", ""),
            smtp_tls=smtp_tls,
            smtp_ca_file=env("SMTP_CA_FILE", ""),
            mail_from=env("MAIL_FROM", "Quoteflow <devis@quoteflow.localhost>"),
            mail_sink_dir=Path(env("MAIL_SINK_DIR", str(var / "mail"))),
            sms_log=Path(env("SMS_LOG", str(var / "sms.log"))),
            vonage_api_key=env("VONAGE_API_KEY", ""),
            vonage_api_secret=env("VONAGE_API_SECRET", ""),
            vonage_from=env("VONAGE_FROM", "Quoteflow"),
            vonage_rest_host=env("VONAGE_REST_HOST", "rest.nexmo.com"),
            vonage_api_host=env("VONAGE_API_HOST", "api.nexmo.com"),
            vonage_ca_bundle=env("VONAGE_CA_BUNDLE", ""),
            digest_window_seconds=duration_seconds("NOTIFIER_DIGEST_WINDOW", env("NOTIFIER_DIGEST_WINDOW", "15m")),
            timezone=env("NOTIFIER_TIMEZONE", "Europe/Paris"),
            send_attempts=env_int("NOTIFIER_SEND_ATTEMPTS", 5),
            code_seal_key=env("CODE_SEAL_KEY", required_in_production=True),
        )


def duration_seconds(name: str, value: str) -> int:
    """'900', '900s', '15m', '1h' -> seconds; anything else stops the start with the variable's name."""
    text = value.strip().lower()
    units = {"s": 1, "m": 60, "min": 60, "h": 3600}
    for suffix in ("min", "s", "m", "h"):
        if text.endswith(suffix) and text[: -len(suffix)].strip().isdigit():
            return int(text[: -len(suffix)]) * units[suffix]
    if text.isdigit():
        return int(text)
    raise ConfigError(f"{name} must be a duration such as 900, 900s, 15m or 1h, got {value!r}")
