"""Pick the pose backend named in the settings."""

from __future__ import annotations

from typing import TYPE_CHECKING, Callable

from physio_core.pose.base import PoseBackendUnavailable, PoseEstimator

if TYPE_CHECKING:
    from physio_core.config import Settings

MMPOSE_INSTALL_HINT = "pip install -r requirements-mmpose.txt / scripts/install_mmpose.sh"


def _embedded(settings: "Settings") -> PoseEstimator:
    from physio_core.pose.embedded import EmbeddedPoseEstimator

    return EmbeddedPoseEstimator()


def _mmpose(settings: "Settings") -> PoseEstimator:
    try:
        from physio_core.pose.mmpose_backend import MMPoseEstimator
    except ImportError as exc:
        raise PoseBackendUnavailable(
            f"pose backend 'mmpose' is not installed ({exc}); install it with: "
            f"{MMPOSE_INSTALL_HINT}"
        ) from exc
    return MMPoseEstimator(settings)


BACKENDS: dict[str, Callable[["Settings"], PoseEstimator]] = {
    "embedded": _embedded,
    "mmpose": _mmpose,
}


def get_estimator(settings: "Settings | None" = None) -> PoseEstimator:
    """A new estimator for ``settings.pose_backend`` (default settings from the environment).

    Raises PoseBackendUnavailable with a one-line message for an unknown name or a backend
    that cannot run here. Estimators are not shared: create one per video / stream / thread.
    """
    if settings is None:
        from physio_core.config import get_settings

        settings = get_settings()
    name = (settings.pose_backend or "embedded").strip().lower()
    if name not in BACKENDS:
        raise PoseBackendUnavailable(
            f"unknown pose backend {settings.pose_backend!r}; choose one of "
            f"{', '.join(sorted(BACKENDS))} (PHYSIO_POSE_BACKEND)"
        )
    try:
        return BACKENDS[name](settings)
    except PoseBackendUnavailable:
        raise
    except Exception as exc:  # missing library, no GPU, bad weights...: one line for the user
        first = (str(exc).strip().splitlines() or [""])[0]
        raise PoseBackendUnavailable(
            f"pose backend {name!r} failed to start: {type(exc).__name__}: {first}"
        ) from exc


def available_backends(settings: "Settings | None" = None) -> dict[str, str | None]:
    """Backend name -> None if it can be created here, else the reason it cannot.

    Creating a backend loads its model, so this costs a few seconds; cache the answer.
    """
    out: dict[str, str | None] = {}
    base = settings
    if base is None:
        from physio_core.config import get_settings

        base = get_settings()
    for name in BACKENDS:
        try:
            est = get_estimator(base.model_copy(update={"pose_backend": name}))
        except PoseBackendUnavailable as exc:
            out[name] = str(exc)
        else:
            est.close()
            out[name] = None
    return out
