"""Deployment configuration read from the environment (and a `.env` file)."""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dotenv import dotenv_values

from community import oidc_settings

ROOT = Path(__file__).resolve().parent.parent


def _parse_seconds(raw: str) -> float:
    """`90`, `90s`, `15m`, `2h` -> seconds (plain numbers are seconds)."""
    text = raw.strip().lower()
    units = {"s": 1, "m": 60, "h": 3600, "d": 86400}
    if text and text[-1] in units:
        return float(text[:-1]) * units[text[-1]]
    return float(text)


def _truthy(raw: str) -> bool:
    return raw.strip().lower() in {"1", "true", "yes", "on"}


@dataclass
class Config:
    """Everything a deployment may set; tests build one directly."""

    var_dir: Path = field(default_factory=lambda: ROOT / "var")
    database_url: str = ""
    index_dir: Path | None = None
    # Images members upload (community/uploads.py), named by their content hash; default VAR_DIR/uploads.
    upload_dir: Path | None = None
    secret_key: str = ""
    demo_data: bool = True
    host: str = "127.0.0.1"
    port: int = 8000
    workers: int = 1
    smtp_url: str = ""
    mail_from: str = "community@localhost"
    # A CA file (PEM) the mail server's certificate is checked against, besides the system's (a private CA).
    smtp_ca_file: str = ""
    # Replies by email (community.mail_in): listen for SMTP inside the server when MAIL_IN_PORT is set.
    mail_in_host: str = "127.0.0.1"
    mail_in_port: int = 0
    base_url: str = "http://127.0.0.1:8000"
    search_backend: str = "whoosh"
    # Semantic retrieval (search/hybrid.py): 0 leaves search and similar questions lexical only.
    embeddings: bool = True
    run_indexer: bool = True
    run_sweeper: bool = True
    run_mailer: bool = True  # the mail sender in each server process (with SMTP_URL); 0: `run.py mailer` sends
    escalation_sweep_seconds: float = 30.0
    sla_first_answer: str = ""
    support_webhook_url: str = ""
    support_webhook_secret: str = ""
    page_cache: bool = True
    # Proxies (addresses or CIDR ranges, comma-separated, "*" for any) whose X-Forwarded-For names the
    # client; empty: trust none, every limit counts the connecting address.
    forwarded_allow_ips: str = ""
    # Sign-in with OpenID Connect (community/oidc.py): the providers (OIDC_PROVIDERS, a JSON list, checked by
    # community/oidc_settings.py) and SSO_ONLY (members sign in only through them; admins keep /admin/login).
    oidc_providers: list[Any] = field(default_factory=list)
    sso_only: bool = False
    extra: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.var_dir = Path(self.var_dir)
        if not self.database_url:
            self.database_url = f"sqlite://{self.var_dir / 'community.sqlite3'}"
        if self.index_dir is None:
            self.index_dir = self.var_dir / "index"
        self.index_dir = Path(self.index_dir)
        self.upload_dir = Path(self.upload_dir) if self.upload_dir is not None else self.var_dir / "uploads"
        self.oidc_providers = oidc_settings.check(self.oidc_providers)  # a malformed value stops the start

    @property
    def is_postgres(self) -> bool:
        return self.database_url.startswith(("postgres://", "postgresql://", "asyncpg://"))

    def ensure_secret(self) -> str:
        """Use SECRET_KEY, else a key generated once and kept under ./var."""
        if self.secret_key:
            return self.secret_key
        self.var_dir.mkdir(parents=True, exist_ok=True)
        path = self.var_dir / "secret_key"
        if not path.exists():
            path.write_text(secrets.token_urlsafe(48))
            path.chmod(0o600)
        self.secret_key = path.read_text().strip()
        return self.secret_key

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> Config:
        source: dict[str, str] = {}
        dotenv = ROOT / ".env"
        if dotenv.exists():
            source.update({k: v for k, v in dotenv_values(dotenv).items() if v is not None})
        source.update(os.environ if env is None else env)
        get = source.get
        var_dir = Path(get("VAR_DIR", str(ROOT / "var")))
        return cls(
            var_dir=var_dir,
            database_url=get("DATABASE_URL", ""),
            index_dir=Path(get("INDEX_DIR")) if get("INDEX_DIR") else None,
            upload_dir=Path(get("UPLOAD_DIR")) if get("UPLOAD_DIR") else None,
            secret_key=get("SECRET_KEY", ""),
            demo_data=_truthy(get("DEMO_DATA", "1")),
            host=get("HOST", "127.0.0.1"),
            port=int(get("PORT", "8000")),
            workers=int(get("WORKERS", "1")),
            smtp_url=get("SMTP_URL", ""),
            mail_from=get("MAIL_FROM", "community@localhost"),
            smtp_ca_file=get("SMTP_CA_FILE", ""),
            mail_in_host=get("MAIL_IN_HOST", "127.0.0.1"),
            mail_in_port=int(get("MAIL_IN_PORT") or 0),
            base_url=get("BASE_URL", f"http://{get('HOST', '127.0.0.1')}:{get('PORT', '8000')}"),
            search_backend=get("SEARCH_BACKEND", "whoosh"),
            embeddings=_truthy(get("EMBEDDINGS", "1")),
            run_indexer=_truthy(get("RUN_INDEXER", "1")),
            run_sweeper=_truthy(get("RUN_SWEEPER", "1")),
            run_mailer=_truthy(get("RUN_MAILER", "1")),
            escalation_sweep_seconds=_parse_seconds(get("ESCALATION_SWEEP_SECONDS", "30")),
            sla_first_answer=get("SLA_FIRST_ANSWER", ""),
            support_webhook_url=get("SUPPORT_WEBHOOK_URL", ""),
            support_webhook_secret=get("SUPPORT_WEBHOOK_SECRET", ""),
            page_cache=_truthy(get("PAGE_CACHE", "1")),
            forwarded_allow_ips=get("FORWARDED_ALLOW_IPS", "").strip(),
            oidc_providers=oidc_settings.parse(get("OIDC_PROVIDERS", "")),
            sso_only=_truthy(get("SSO_ONLY", "0")),
            extra=dict(source),
        )


parse_seconds = _parse_seconds
