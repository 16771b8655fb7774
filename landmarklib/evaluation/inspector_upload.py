"""The inspector's upload panel (``landmarklib.widgets.Inspector``): your own photo,
shown whole with the detector box and the square cropped from it, beside the
96 px crop the models see, with their predictions on both.

Works with the ``FileUpload`` value of ipywidgets 7.x and 8.x
(``inspector_data.normalise_upload``). The face is found and framed by
``inspector_data.crop_photo``, which runs the same pipeline as ``predict-image``
and the video demo (``inference.photo``: detector, then re-cropping from the
first model's keypoints).
"""
import html

import ipywidgets as widgets

from ..core import keypoints as kp
from ..inference.predict import predict
from . import inspector_data as data
from .inspector_draw import encode_png, photo_view

UPLOAD_ACCEPT = "image/*"


class UploadPanel:
    """Mixin of ``Inspector``: needs ``models``, ``colors`` and ``scale`` on the instance."""

    def _build_upload(self):
        self.upload = widgets.FileUpload(accept=UPLOAD_ACCEPT, multiple=False,
                                         description="your photo")
        self.upload_image = widgets.Image(format="png", layout={"display": "none"})
        self.upload_info = widgets.HTML()
        self.upload.observe(self._on_upload, names="value")

    def _on_upload(self, change):
        try:
            files = data.normalise_upload(change["new"])
        except ValueError as err:
            self.upload_info.value = html.escape(str(err))
            return
        for name, content in files:
            self.inspect_photo(content, name)

    def inspect_photo(self, data_bytes, name="photo"):
        """Find the face in an encoded photo, crop it, predict with `models`, draw both."""
        try:
            found = data.crop_photo(data_bytes, next(iter(self.models.values()), None))
        except ValueError as err:
            self.upload_info.value = f"<b>{html.escape(name)}</b>: {html.escape(str(err))}"
            self.upload_result = {"error": str(err)}
            return self.upload_result
        crop = found["crop"]
        points = {n: kp.as_points(predict(m, crop[None])[0]) for n, m in self.models.items()}
        self.upload_image.value = encode_png(photo_view(found, points, self.colors, self.scale))
        self.upload_image.layout.display = None  # shown from the first photo on
        note = ("" if self.models else
                " (no models given: pass models=... to the Inspector to predict)")
        box = found["box"]
        self.upload_info.value = (f'<span class="lm-upload"><b>{html.escape(name)}</b>: face at '
                                  f"x={box[0]:.0f}, y={box[1]:.0f}, {box[2]:.0f} px wide "
                                  f"(orange: detector box, magenta: the square cropped, "
                                  f"{found['passes']} predictions to settle){note}"
                                  "</span>")
        self.upload_result = {**found, "points": {n: p.reshape(-1) for n, p in points.items()}}
        return self.upload_result

