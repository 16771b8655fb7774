"""Figures and widgets of 05_demo: video frames, jitter, smoothing, the report's demo figure."""
import cv2
import numpy as np

from ..core import keypoints as kp
from ..inference.measurements import measure
from ..inference.video_io import open_video
from . import smoothing


def read_frame(path, index):
    """Frame `index` of a video as RGB (for matplotlib)."""
    cap, _info = open_video(path)
    try:
        cap.set(cv2.CAP_PROP_POS_FRAMES, index)
        ok, frame = cap.read()
    finally:
        cap.release()
    if not ok:
        raise ValueError(f"{path}: no frame {index}")
    return cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)


def jitter_axes(ax, raw, smoothed, fps):
    """Per-frame displacement (px, mean over keypoints) of a still face, raw vs smoothed."""
    t = np.arange(1, len(raw)) / fps
    for name, points in (("raw", raw), ("One-Euro", smoothed)):
        step = np.linalg.norm(np.diff(kp.as_points(points), axis=0), axis=-1).mean(axis=1)
        ax.plot(t, step, label=f"{name}: mean {smoothing.jitter(points):.2f} px")
    ax.set_xlabel("time (s)")
    ax.set_ylabel("frame-to-frame move (px)")
    ax.set_title("still face: jitter")
    ax.legend()


def smoothing_figure(raw, fps, unit, min_cutoff=smoothing.MIN_CUTOFF, beta=smoothing.BETA,
                     keypoint="nose_tip"):
    """Raw vs smoothed trajectory of one keypoint and the jitter, for chosen filter settings.

    `raw`: (T, 30) unsmoothed keypoints of one face in frame px, `unit` the
    face unit (px) of ``smoothing.Track``. Use it with ipywidgets.interact.
    """
    import matplotlib.pyplot as plt

    times = np.arange(len(raw)) / fps
    smoothed = smoothing.smooth_trajectory(raw, times, unit, min_cutoff=min_cutoff, beta=beta)
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.2))
    i = 2 * kp.INDEX[keypoint]
    left.plot(times, raw[:, i], ".", label="raw", alpha=0.6)
    left.plot(times, smoothed[:, i], label="One-Euro")
    left.set_xlabel("time (s)")
    left.set_ylabel(f"{keypoint} x (px)")
    left.set_title(f"min_cutoff {min_cutoff:g} Hz, beta {beta:g}")
    left.legend()
    jitter_axes(right, raw, smoothed, fps)
    fig.tight_layout()
    return fig


def smoothing_widget(raw, fps, unit):
    """Sliders (min_cutoff, beta, keypoint) that redraw ``smoothing_figure`` live."""
    import ipywidgets
    import matplotlib.pyplot as plt

    def redraw(min_cutoff, beta, keypoint):
        smoothing_figure(raw, fps, unit, min_cutoff=min_cutoff, beta=beta, keypoint=keypoint)
        plt.show()

    return ipywidgets.interactive(
        redraw, keypoint=ipywidgets.Dropdown(options=kp.NAMES, value="nose_tip"),
        min_cutoff=ipywidgets.FloatSlider(value=smoothing.MIN_CUTOFF, min=0.1, max=5, step=0.1),
        beta=ipywidgets.FloatSlider(value=smoothing.BETA, min=0, max=0.5, step=0.01))


def demo_figure(video_path, table, truth, frames, still_raw, still_smoothed, fps, save_to=None):
    """The report's demo figure: annotated frames, jitter of a still face, roll vs truth.

    Args:
        video_path: the annotated video; `frames` the frame indices to show.
        table: its CSV (DataFrame); `truth` the true keypoints of the video.
        still_raw, still_smoothed: (T, 30) keypoints of a still face without
            and with smoothing; `fps` their frame rate.
        save_to: path without suffix for PDF and PNG (``drawing.save_figure``).
    """
    import matplotlib.pyplot as plt

    from ..evaluation.drawing import save_figure

    fig = plt.figure(figsize=(10, 5.6))
    grid = fig.add_gridspec(2, len(frames), height_ratios=(1, 0.9))
    for col, index in enumerate(frames):
        ax = fig.add_subplot(grid[0, col])
        ax.imshow(read_frame(video_path, index))
        rows = table[table["frame"] == index]
        label = ", ".join(f"roll {r.roll_deg:+.0f}°" for r in rows.itertuples()) or "no face"
        ax.set_title(f"frame {index}: {label}", fontsize=8)
        ax.set_axis_off()
    half = max(len(frames) // 2, 1)
    jitter_axes(fig.add_subplot(grid[1, :half]), still_raw, still_smoothed, fps)
    ax = fig.add_subplot(grid[1, half:])
    true_roll = measure(truth)["roll_deg"]
    for face in range(truth.shape[1]):
        ax.plot(np.arange(len(truth)) / fps, true_roll[:, face], color="gray",
                label="true" if face == 0 else None)
    for face_id, rows in table.groupby("face_id"):
        ax.plot(rows["time_s"], rows["roll_deg"], ".", ms=3, label=f"face {face_id}")
    ax.set_xlabel("time (s)")
    ax.set_ylabel("head roll (degrees)")
    ax.set_title("moving faces: roll from the eye line")
    ax.legend(fontsize=7, ncol=2)
    fig.tight_layout()
    if save_to is not None:
        save_figure(fig, save_to)
    return fig
