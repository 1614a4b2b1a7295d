"""Preferences survive a restart; the settings dialog edits them and takes extra pages."""

from __future__ import annotations

from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QLabel

from zssbir_desktop.settings.dialog import SettingsDialog
from zssbir_desktop.settings.preferences import (
    LEGACY_EXCLUDE_KEY,
    Preferences,
    load_preferences,
    save_preferences,
    take_legacy_exclude_patterns,
)


def test_preferences_round_trip_through_a_new_qsettings() -> None:
    prefs = Preferences(
        device="cpu",
        model="lite0-imagenet",
        results_count=40,
        thumbnail_size=200,
        rescan_on_start=False,
        theme="dark",
        library_dir="/tmp/lib",
    )
    save_preferences(prefs, QSettings())
    assert load_preferences(QSettings()) == prefs


def test_exclude_patterns_are_not_kept_in_qsettings_and_an_old_list_moves_out_once() -> None:
    save_preferences(Preferences(exclude_patterns=("*.tmp",)), QSettings())
    assert QSettings().value(LEGACY_EXCLUDE_KEY) is None and load_preferences(QSettings()).exclude_patterns == ()
    QSettings().setValue(LEGACY_EXCLUDE_KEY, "*.tmp\n*/cache/*")
    assert take_legacy_exclude_patterns(QSettings()) == ("*.tmp", "*/cache/*")
    assert take_legacy_exclude_patterns(QSettings()) == ()


def test_bad_stored_values_fall_back_to_defaults() -> None:
    settings = QSettings()
    settings.setValue("preferences/theme", "purple")
    settings.setValue("preferences/results_count", "many")
    settings.setValue("preferences/device", "tpu")
    prefs = load_preferences(settings)
    assert (prefs.theme, prefs.results_count, prefs.device) == ("system", 24, "auto")


def test_dialog_edits_a_copy_and_shows_unavailable_devices(qtbot) -> None:
    prefs = Preferences()
    dialog = SettingsDialog(prefs, devices={"cpu": "x86_64, 2 cores"}, models=[("lite0-imagenet", "Lite0")])
    qtbot.addWidget(dialog)
    dialog.results_spin.setValue(50)
    dialog.theme_combo.setCurrentIndex(dialog.theme_combo.findData("dark"))
    dialog.exclude_edit.setPlainText("*.tmp\n\n  */thumbs/*  ")
    edited = dialog.preferences()
    assert (edited.results_count, edited.theme, edited.exclude_patterns) == (
        50,
        "dark",
        ("*.tmp", "*/thumbs/*"),
    )
    assert prefs.results_count == 24
    cuda = dialog.device_combo.findData("cuda")
    assert not dialog.device_combo.model().item(cuda).isEnabled()
    assert "not available" in dialog.device_combo.itemText(cuda)


def test_add_page_appends_a_tab(qtbot) -> None:
    dialog = SettingsDialog(Preferences())
    qtbot.addWidget(dialog)
    index = dialog.add_page(QLabel("training"), "Fine-tuning")
    assert dialog.tabs.tabText(index) == "Fine-tuning"
