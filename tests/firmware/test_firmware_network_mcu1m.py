"""The generated network of the ``mcu-1m`` students against the ``tflite_micro`` interpreter
on 1,000 real windows of folds 1-2 (plain C kernels; the DSP path, its intrinsics emulated
in C, on the first 250). Split from ``test_firmware_network.py`` so that the two files run
side by side (these four take about a minute each, TFLM's reference kernels most of it).
"""

from __future__ import annotations

import json
import shutil

import pytest

from edgesea.packaged.names import PRETRAINED_DIR
from firmware_net_helpers import check_against_tflm, real_inputs, report_and_check

pytestmark = pytest.mark.skipif(shutil.which("gcc") is None and shutil.which("cc") is None,
                                reason="no host C compiler")
pytest.importorskip("tflite")
pytest.importorskip("tflite_micro")


@pytest.mark.parametrize("name", ["sea_urban_64_mcu1m", "sea_urban_128_mcu1m",
                                  "sea_urban_256_mcu1m", "sea_urban_512_mcu1m"])
def test_generated_network_equals_tflm_on_real_windows(name, tmp_path):
    spec = json.loads((PRETRAINED_DIR / f"{name}.edge.json").read_text())
    inputs = real_inputs(spec, 1000)
    r = check_against_tflm(PRETRAINED_DIR / f"{name}.int8.tflite", inputs, tmp_path,
                           n_dsp=250)
    report_and_check(name, r)
