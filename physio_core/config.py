"""Settings from the environment (prefix PHYSIO_, plus DATABASE_URL) with zero-set-up defaults."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent


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
    # refuse to run with checkpoints unset (random weights) unless this is true (tests only)
    mmpose_allow_random_weights: bool = False
    model_dir: Path = PROJECT_ROOT / "models"
    # uploads larger than this are refused before decoding
    max_upload_mb: int = 1024
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


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
