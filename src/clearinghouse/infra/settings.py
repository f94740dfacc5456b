"""One settings object, built once at the entrypoint and passed down.

Environment variables use the ``CLEARINGHOUSE_`` prefix (``CLEARINGHOUSE_DATABASE_URL``,
``CLEARINGHOUSE_DATA_DIR``, ``CLEARINGHOUSE_MAX_UPLOAD_BYTES`` …). Library code never reads the
environment itself.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CLEARINGHOUSE_", extra="ignore")

    data_dir: Path = Field(default=Path(".clearinghouse"))
    # Build cache and scratch of sandboxed runs (default: inside the data directory). The
    # sandbox's unprivileged uid must be able to search every directory above it.
    work_dir: Path | None = None
    database_url: str | None = None
    max_upload_bytes: int = Field(default=256 * 1024 * 1024, ge=1)
    max_string_chars: int = Field(default=1_048_576, ge=64)
    max_proof_chars: int = Field(default=16 * 1_048_576, ge=64)
    import_batch_size: int = Field(default=5_000, ge=1)
    # Validation (issue 3). Production never validates without bubblewrap; only the demo
    # sets ``validation_allow_unisolated``.
    validation_allow_unisolated: bool = False
    validation_repetitions: int = Field(default=3, ge=1, le=50)
    validation_compiler: str = Field(default="gcc", pattern=r"^[A-Za-z0-9_.+-]{1,64}$")
    validation_python: str = Field(default="python3", pattern=r"^[A-Za-z0-9_.+-]{1,64}$")
    validation_workers: int = Field(default=2, ge=1, le=64)
    validation_max_attempts: int = Field(default=2, ge=1, le=10)
    max_target_bytes: int = Field(default=64 * 1024 * 1024, ge=1024)
    # A worker renews its run's lease every quarter of this; a run whose lease lapses (its
    # worker died) is requeued or failed by the next recovery, which every worker does at
    # start and then every ``validation_recover_interval_s``.
    validation_lease_s: float = Field(default=60.0, ge=1.0, le=3600.0)
    validation_recover_interval_s: float = Field(default=30.0, ge=0.2, le=3600.0)
    # Validate every imported finding that carries a proof against a registered target.
    validation_auto: bool = True
    # Celery broker (redis://… or amqp://…). Unset: runs go to the in-process pool of the
    # process that serves the API, or wait for ``clearinghouse validation work``.
    broker_url: str | None = None
    # A JSON policy table for remediation deadlines (``prioritization.policy.load_table``);
    # unset: the default table (KEV due date, then 15/30/90/180 days).
    deadline_policy: Path | None = None
    # Where ``feeds sync osv`` downloads ``<ecosystem>/all.zip`` from (OSV's public bucket).
    osv_base_url: str = Field(
        default="https://osv-vulnerabilities.storage.googleapis.com", pattern=r"^https?://"
    )
    broker_queue: str = Field(
        default="clearinghouse.validation", pattern=r"^[A-Za-z0-9_.:-]{1,100}$"
    )
    # Coordinated disclosure: default embargo (days), and when to remind and escalate a
    # vendor that has not answered.
    embargo_default_days: int = Field(default=90, ge=1, le=3650)
    embargo_exploited_days: int = Field(default=7, ge=1, le=3650)
    vendor_reminder_days: int = Field(default=7, ge=1, le=365)
    vendor_escalation_days: int = Field(default=14, ge=2, le=730)
    # The public address advisories are served under (CSAF namespace, self links, feed).
    public_base_url: str = Field(
        default="https://clearinghouse.example", pattern=r"^https?://[^\s/]+(/[^\s]*)?$"
    )
    publisher_name: str = Field(default="Clearinghouse", min_length=1, max_length=200)
    publisher_contact: str = Field(default="csaf@clearinghouse.example", min_length=3)
    # The OpenPGP key that signs published documents (armored secret key). Unset: one is made
    # on first publication in ``<data_dir>/keys/`` (mode 0600).
    signing_key_file: Path | None = None
    # Notifications: SMTP relay (unset host: e-mail endpoints wait in the outbox) and webhooks.
    smtp_host: str | None = None
    smtp_port: int = Field(default=25, ge=1, le=65535)
    smtp_sender: str = Field(default="clearinghouse@clearinghouse.example")
    smtp_starttls: bool = False
    smtp_username: str | None = None
    smtp_password: str | None = Field(default=None, repr=False)
    # Allow webhook URLs on loopback and private addresses (tests, one-machine installs only).
    webhook_allow_private: bool = False
    outbox_max_attempts: int = Field(default=8, ge=1, le=100)
    outbox_base_delay_s: float = Field(default=30.0, ge=0.0, le=86400.0)
    outbox_lease_s: float = Field(default=120.0, ge=1.0, le=3600.0)
    # Scanning as a service: the scanners' own venv, built with the system Python so that the
    # sandbox's unprivileged user can run it (``clearinghouse scans toolchain``; ``make
    # scanners`` builds ./.venv-scanners). Unset: <work_dir or data_dir>/scanners-venv.
    scanner_toolchain: Path | None = None
    fuzz_seconds: int = Field(default=30, ge=1, le=3600)
    # How often the in-process scheduler (or Celery beat) runs deadlines and the outbox.
    scheduler_interval_s: float = Field(default=60.0, ge=0.2, le=86400.0)
    # Frontier model assessment: model API keys (sent only to the model's endpoint, never
    # logged or stored), parallel samples per run, the per-request timeout, and the agent's
    # default budgets.
    openai_api_key: str | None = Field(default=None, repr=False)
    anthropic_api_key: str | None = Field(default=None, repr=False)
    eval_workers: int = Field(default=2, ge=1, le=64)
    eval_request_timeout_s: float = Field(default=120.0, ge=1.0, le=3600.0)
    eval_max_steps: int = Field(default=30, ge=1, le=1000)
    eval_max_tokens: int = Field(default=200_000, ge=1000, le=100_000_000)
    eval_wall_time_s: float = Field(default=900.0, ge=1.0, le=86400.0)

    @property
    def resolved_database_url(self) -> str:
        """SQLite in the data directory unless a URL is configured."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'clearinghouse.db').resolve()}"

    @property
    def scanner_dir(self) -> Path:
        return self.scanner_toolchain or (self.work_dir or self.data_dir) / "scanners-venv"

    @property
    def blob_dir(self) -> Path:
        return self.data_dir / "blobs"

    @property
    def target_dir(self) -> Path:
        """Registered targets, one directory per content digest."""
        return self.data_dir / "targets"

    @property
    def suite_dir(self) -> Path:
        """Registered evaluation suites, one directory per content hash (never changed)."""
        return self.data_dir / "suites"

    @property
    def build_dir(self) -> Path:
        """Cached builds, one directory per (target digest, compiler)."""
        return (self.work_dir or self.data_dir) / "builds"

    @property
    def run_dir(self) -> Path:
        """Scratch work directories of sandboxed runs (removed after each run)."""
        return (self.work_dir or self.data_dir) / "runs"
