"""Settings from the environment (prefix PHYSIO_, plus DATABASE_URL) with zero-set-up defaults."""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path
from typing import TypeVar

from pydantic import AliasChoices, Field, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict, SettingsError

PROJECT_ROOT = Path(__file__).resolve().parent.parent
SHIPPED_MODEL_DIR = PROJECT_ROOT / "models"  # the weights the repository ships; PHYSIO_MODEL_DIR may name others


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PHYSIO_", env_file=".env", extra="ignore")

    data_dir: Path = PROJECT_ROOT / "data"
    # unset -> SQLite file under data_dir
    database_url: str | None = Field(
        default=None, validation_alias=AliasChoices("DATABASE_URL", "PHYSIO_DATABASE_URL")
    )
    pose_backend: str = "embedded"  # "embedded" (MediaPipe, CPU) or "mmpose"
    mmpose_device: str = "cuda:0"
    mmpose_det_config: str | None = None
    mmpose_det_checkpoint: str | None = None
    mmpose_pose2d_config: str | None = None
    mmpose_pose2d_checkpoint: str | None = None
    mmpose_lifter_config: str | None = None
    mmpose_lifter_checkpoint: str | None = None
    mmpose_weights_dir: Path | None = None
    # MMPose backend tuning; "whole_image" as mmpose_det_config skips the person detector
    mmpose_bbox_thr: float = 0.3
    mmpose_max_persons: int = 5
    # run the person detector on every Nth frame only; in between, each person's box follows
    # their 2D keypoints (faster; someone who walks in is found at the next detection)
    mmpose_det_every: int = Field(default=1, ge=1)
    # fold batch norms into the convolutions before them at load (inference only; same outputs)
    mmpose_fuse_conv_bn: bool = True
    # refuse to run with checkpoints unset (random weights) unless this is true (tests only)
    mmpose_allow_random_weights: bool = False
    model_dir: Path = SHIPPED_MODEL_DIR
    # after a video, its two pose worker processes wait this long (seconds) for the next one with
    # their model loaded (MediaPipe's takes ~1 s to load, MMPose's ~6.5 s on CPU); 0: fresh ones
    pose_workers_keep_s: float = Field(default=120.0, ge=0)
    # uploads larger than this are refused before decoding
    max_upload_mb: int = 1024
    # uploaded videos are deleted this long after upload (reports show their frames meanwhile)
    upload_keep_hours: float = Field(default=12.0, gt=0)
    # recordings longer than this are refused before decoding (seconds)
    max_video_s: float = 1800.0
    # JSON list of RTCIceServer dicts; [] for local use and tests
    ice_servers: list[dict] = Field(default_factory=list)
    # debug/test: the live page rewrites this JSON file with its processing stats (live.py)
    live_stats_file: Path | None = None

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        self.data_dir.mkdir(parents=True, exist_ok=True)
        return f"sqlite:///{self.data_dir / 'physiotrack.db'}"


class ConfigError(ValueError):
    """A setting (environment variable or .env line) holds a value the app cannot use; ``str``
    names the variable and what is wrong, one line per variable."""


S = TypeVar("S", bound=BaseSettings)


def _variable(field: str) -> str:
    return "DATABASE_URL" if field == "database_url" else f"PHYSIO_{field.upper()}"


def _describe(err: ValidationError | SettingsError) -> str:
    if isinstance(err, ValidationError):
        lines = []
        for e in err.errors():
            field = str(e["loc"][0])
            given = "(hidden)" if "password" in field or "url" in field else repr(e.get("input"))
            given = given if len(given) <= 60 else given[:57] + "..."
            lines.append(f"{_variable(field)}={given}: {e['msg']}")
        return "; ".join(lines)
    m = re.search(r'field "(\w+)"', str(err))
    name = _variable(m[1]) if m else "a setting"
    why = f" ({err.__cause__})" if err.__cause__ else ""
    return f"{name} is not valid JSON{why}"  # the JSON-typed settings (lists) are the ones parsed first


def read_settings(cls: type[S]) -> S:
    """``cls()`` read from the environment; ConfigError when one of its values cannot be used."""
    try:
        return cls()
    except (ValidationError, SettingsError) as err:
        raise ConfigError(_describe(err)) from None


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The settings (cached); ConfigError when one of them cannot be used."""
    return read_settings(Settings)


def run_cli(main: Callable[[], int]) -> int:
    """A command line's exit status: a bad setting is one line on stderr and exit 1, not a traceback;
    a reader that stops reading (``| head``) ends it quietly, as it does ``cat``."""
    try:
        try:
            return main()
        finally:  # here, not at exit, where a closed pipe is a traceback nothing can catch
            sys.stdout.flush()
    except ConfigError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    except BrokenPipeError:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # nothing left to flush at exit
        return 1
