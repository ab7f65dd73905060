"""A real headless Chromium, driven by Selenium (the W3C WebDriver standard, well kept), with
the browser and its driver from the same Debian packages (``chromium``, ``chromium-driver``),
so their versions always match and nothing is downloaded at test time."""

from __future__ import annotations

import os
import shutil

import pytest

BROWSERS = ("chromium", "chromium-browser", "google-chrome")
DRIVER = "chromedriver"


def start_chromium(width: int = 1600, height: int = 1000):
    """A headless Chromium session; ``RuntimeError`` naming the packages when none is here."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    binary = next(filter(None, map(shutil.which, BROWSERS)), None)
    driver = shutil.which(DRIVER)
    if binary is None or driver is None:
        raise RuntimeError(
            "no Chromium and chromedriver here: apt-get install chromium chromium-driver"
        )
    options = webdriver.ChromeOptions()
    options.binary_location = binary
    size = f"--window-size={width},{height}"
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", size):
        options.add_argument(argument)
    return webdriver.Chrome(options=options, service=Service(driver))


def chromium():
    """A headless Chromium session, or a skip (a failure in CI) when none is installed."""
    try:
        return start_chromium()
    except RuntimeError as exc:
        if os.environ.get("CI"):
            pytest.fail(str(exc))
        pytest.skip(str(exc))
