"""Export to TFLite and ONNX: the exported models agree with Keras on real crops."""
import numpy as np
import pytest

from landmarklib import cli, export, video
from landmarklib import keypoints as kp
from landmarklib.data.pipeline import to_model_input


@pytest.fixture(scope="module")
def run(small_run):
    """The small model of the pipeline tests (conftest's ``small_run``)."""
    return small_run


@pytest.mark.slow
def test_export_command_writes_models_that_match_keras(run, tmp_path, capsys):
    tflite, onnx = tmp_path / "m.tflite", tmp_path / "m.onnx"
    cli.main(["export", "--model", str(run.dir), "--tflite", str(tflite), "--onnx", str(onnx)])
    printed = capsys.readouterr().out
    assert "MB" in printed and "ms per face" in printed
    crops = export.real_crops()
    keras_out = np.asarray(run.model(to_model_input(crops), training=False))
    for predictor in (export.TFLitePredictor(tflite), export.ONNXPredictor(onnx)):
        out = predictor(crops)
        assert out.shape == (len(crops), 2 * kp.NUM_KEYPOINTS)
        assert np.max(np.abs(out - keras_out)) < export.PARITY_TOLERANCE_PX
        # not trivially equal: the predictions differ between faces
        assert out.std(axis=0).mean() > 0.5


@pytest.mark.slow
def test_export_checks_parity_without_the_dataset(run, tmp_path, capsys, monkeypatch,
                                                  tiny_faces):
    from landmarklib.data import registry, write_kaggle_csv

    def no_dataset(*args, **kwargs):
        raise AssertionError("export loaded the dataset")

    monkeypatch.setattr(registry, "load_dataset", no_dataset)
    cli.main(["export", "--model", str(run.dir), "--tflite", str(tmp_path / "a.tflite")])
    assert f"parity on {export.PARITY_IMAGES} synthetic images" in capsys.readouterr().out
    csv = write_kaggle_csv(tiny_faces, tmp_path / "faces.csv")
    cli.main(["export", "--model", str(run.dir), "--tflite", str(tmp_path / "b.tflite"),
              "--csv", str(csv)])
    assert f"parity on {len(tiny_faces)} faces of {csv}" in capsys.readouterr().out


def test_synthetic_parity_images_differ_from_each_other():
    images = export.synthetic_images(16)
    assert images.shape == (16, 96, 96) and images.dtype == np.uint8
    assert images.std() > 20 and np.abs(np.diff(images.astype(int), axis=0)).mean() > 20
    np.testing.assert_array_equal(images, export.synthetic_images(16))  # reproducible


@pytest.mark.slow
def test_video_backends_agree(run):
    crops = export.real_crops(8)
    outs = [video.make_predictor(run.model, b)(crops) for b in ("tflite", "function", "keras")]
    for other in outs[1:]:
        assert np.max(np.abs(outs[0] - other)) < export.PARITY_TOLERANCE_PX


def test_export_needs_a_target_and_a_known_suffix(tmp_path, capsys):
    with pytest.raises(SystemExit):
        cli.main(["export", "--model", str(tmp_path)])
    assert "--tflite" in capsys.readouterr().err
    with pytest.raises(ValueError, match="should end in .tflite"):
        export.export_checked(None, tmp_path / "m.onnx", "tflite", None)


def test_export_of_a_missing_model_is_a_clear_error(tmp_path, capsys):
    with pytest.raises(SystemExit):
        cli.main(["export", "--model", str(tmp_path / "none"), "--tflite",
                  str(tmp_path / "m.tflite")])
    assert "no such model folder" in capsys.readouterr().err
    assert not (tmp_path / "m.tflite").exists()


def test_bad_tflite_file_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="none.tflite"):
        export.TFLitePredictor(tmp_path / "none.tflite")
    bad = tmp_path / "bad.tflite"
    bad.write_bytes(b"not a flatbuffer")
    with pytest.raises(ValueError, match="not a TFLite model"):
        export.TFLitePredictor(bad)
