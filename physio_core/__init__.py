"""PhysioTrack core library: pose, kinematics, reps, models, storage and reports.

This package never imports Streamlit; the app's pages are thin views over it.
"""

__version__ = "0.1.0"
