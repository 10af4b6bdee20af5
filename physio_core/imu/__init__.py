"""Wrist-IMU path: read sensor CSVs, recognise the lift, count reps, score stability."""

from physio_core.imu.io import (
    LABELS,
    LIFTS,
    ImuFormatError,
    ImuSeries,
    ImuSet,
    list_sets,
    read_imu_csv,
    read_metamotion,
    read_upload,
    write_imu_csv,
)

__all__ = [
    "LABELS",
    "LIFTS",
    "ImuFormatError",
    "ImuSeries",
    "ImuSet",
    "list_sets",
    "read_imu_csv",
    "read_metamotion",
    "read_upload",
    "write_imu_csv",
]
