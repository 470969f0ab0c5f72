"""The FOSS experiment report (Markdown), laid out like the paper's Tables 1–2 with the baselines beside."""

from __future__ import annotations

import math
from typing import Any

import pandas as pd


def _pct(value: Any) -> str:
    return "—" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{100 * value:.1f}"


def _num(value: Any, digits: int = 2) -> str:
    return "—" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value:.{digits}f}"


def _per_group_table(per_group: pd.DataFrame) -> str:
    """Rows age / 1-off / gender (and face counts), columns the seven IoG groups."""
    if per_group.empty:
        return "(no faces)"
    frame = per_group.set_index("row")
    header = "| | " + " | ".join(map(str, frame.columns)) + " |"
    lines = [header, "|---|" + "---|" * len(frame.columns)]
    for row, values in frame.iterrows():
        digits = 0 if row == "faces" else 1
        lines.append(f"| {row} | " + " | ".join(_num(float(v), digits) for v in values) + " |")
    return "\n".join(lines)


SIZES = ("large", "medium", "small")


def _by_size_row(name: str, detection: dict) -> str:
    by_size = detection.get("by_size", {})
    cells = []
    for size in SIZES:
        figures = by_size.get(size, {})
        cells += [_num(figures.get("ap"), 3), _num(figures.get("recall"), 3), str(figures.get("faces", "—"))]
    return f"| {name} | " + " | ".join(cells) + " |"


def _tiled_section(foss: dict, two_model: dict) -> list[str]:
    """Many known-age faces in one image (agelab.evaluation.tiled_faces): MAE in the scene and alone."""
    if not foss:
        return []
    lines = [
        "",
        "## Many faces at once: test faces tiled into scenes",
        "",
        "Each scene holds g × g single-face test images; a face's age is the scene detection that overlaps "
        "its box (IoU ≥ 0.5); the same faces are also scored alone (largest face). Paired: the faces found "
        "both ways.",
        "",
        "| model | scenes | faces | found in scene | MAE in scene | found alone | MAE alone | paired faces "
        "| paired MAE in scene | paired MAE alone |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for model, results in (("FOSS", foss), ("dlib + appearance subnet", two_model)):
        for name, r in results.items():
            lines.append(
                f"| {model}, {name} | {r['scenes']} | {r['faces']} | {r['found_tiled']} | "
                f"{_num(r['mae_tiled'])} | {r['found_single']} | {_num(r['mae_single'])} | "
                f"{r['paired_faces']} | {_num(r['paired_mae_tiled'])} | {_num(r['paired_mae_single'])} |"
            )
    return lines


def foss_report_markdown(
    report: dict, baselines: dict, annotation: dict, per_group: pd.DataFrame, read_report: dict
) -> str:
    detection, groups, single = report["detection"], report["group_photos"], report["single_face_test"]
    dlib = baselines.get("dlib_detection", {})
    majority = baselines.get("majority_group", {})
    two_model = baselines.get("dlib_appearance", {})
    range_keys = [k for k in single if k.startswith("mae_") and k != "mae"]
    lines = [
        "# FOSS: multi-person age estimation",
        "",
        "## Detection (AP@0.5 on the detection sets' "
        + (
            "held-out test photos, never used in training or to pick an epoch)"
            if report.get("detection_split") == "test"
            else "val split)"
        ),
        "",
        "| detector | AP@0.5 | recall | faces | images |",
        "|---|---|---|---|---|",
        f"| FOSS CenterNet (DLA-34) | {_num(detection['ap'], 3)} | {_num(detection['recall'], 3)} | "
        f"{detection['faces']} | {detection['images']} |",
        f"| dlib HOG (baseline) | {_num(dlib.get('ap'), 3)} | {_num(dlib.get('recall'), 3)} | "
        f"{dlib.get('faces', '—')} | {dlib.get('images', '—')} |",
        *[
            f"| {name} | {_num(d.get('ap'), 3)} | {_num(d.get('recall'), 3)} | {d.get('faces', '—')} | "
            f"{d.get('images', '—')} |"
            for name, d in baselines.get("detectors", {}).items()
        ],
        "",
        "WIDER FACE protocol: VOC matching (a detection is assigned its highest-IoU face; a face already "
        "taken makes it a false positive), faces flagged invalid are ignored, every detection is scored, "
        "AP is the all-point interpolated area under the precision-recall curve.",
        "",
        "By face height (large ≥ 32 px, medium 16–32 px, small < 16 px; faces of the other sizes and the "
        "detections on them are ignored, as are unmatched detections of the other sizes):",
        "",
        "| detector | AP large | recall large | faces | AP medium | recall medium | faces | AP small "
        "| recall small | faces |",
        "|---|---|---|---|---|---|---|---|---|---|",
        _by_size_row("FOSS CenterNet (DLA-34)", detection),
        _by_size_row("dlib HOG (baseline)", dlib),
        *[_by_size_row(name, d) for name, d in baselines.get("detectors", {}).items()],
        "",
        "## Group photos (Images of Groups protocol, Table 1 layout)",
        "",
    ]
    # reports written before "group_sets" was recorded decide by whether any group face was scored
    if report.get("group_sets", groups.get("faces")):
        lines += _group_lines(groups, two_model, majority, per_group)
    else:
        lines += ["No group set selected (`foss.group_sets: []`): the group-photo protocol was not run.", ""]
    lines += [
        "## Single-face test images (largest detected face, §4.2)",
        "",
        "| model | MAE | "
        + " | ".join(f"MAE {k[4:].replace('_', '–')}" for k in range_keys)
        + " | no face found |",
        "|---|---|" + "---|" * len(range_keys) + "---|",
        f"| FOSS | {_num(single['mae'])} | "
        + " | ".join(_num(single[k]) for k in range_keys)
        + f" | {single['no_face_detected']} / {single['images']} |",
    ]
    if "single_face_test" in two_model:
        s = two_model["single_face_test"]
        lines.append(
            f"| dlib + appearance subnet | {_num(s['mae'])} | "
            + " | ".join(_num(s.get(k)) for k in range_keys)
            + f" | {s['no_face_detected']} / {s['images']} |"
        )
    lines += _tiled_section(report.get("tiled_test_faces", {}), two_model.get("tiled_test_faces", {}))
    lines += [
        "",
        "## Data",
        "",
        f"Annotation (§4.2): {annotation.get('used', 0)} of {annotation.get('images', 0)} single-face images "
        "used; "
        f"excluded: {annotation.get('excluded_by_reason', {})}.",
        "",
        "| set | rows | skipped |",
        "|---|---|---|",
        *[f"| {name} | {r.get('rows', 0)} | {r.get('skipped', 0)} |" for name, r in read_report.items()],
        "",
        f"Model: {report.get('model', {})}",
        "",
    ]
    return "\n".join(lines)


def _group_lines(groups: dict, two_model: dict, majority: dict, per_group: pd.DataFrame) -> list[str]:
    """The Images of Groups section: Table 1's accuracies of FOSS, dlib + the appearance subnet and the
    majority group, then Table 2's per-group accuracies of FOSS."""
    lines = [
        "| model | age group [%] | 1-off [%] | gender [%] | faces matched |",
        "|---|---|---|---|---|",
        f"| FOSS | {_pct(groups['age_group_accuracy'])} | {_pct(groups['one_off_accuracy'])} | "
        f"{_pct(groups['gender_accuracy'])} | {groups['matched_faces']} / {groups['faces']} |",
    ]
    if "group_photos" in two_model:
        g = two_model["group_photos"]
        lines.append(
            f"| dlib + appearance subnet | {_pct(g['age_group_accuracy'])} | "
            f"{_pct(g['one_off_accuracy'])} | — | {g['matched_faces']} / {g['faces']} |"
        )
    else:
        lines.append(f"| dlib + appearance subnet | {two_model.get('skipped', '—')} | | | |")
    return [
        *lines,
        f"| majority group ({majority.get('group', '—')}) | {_pct(majority.get('age_group_accuracy'))} | "
        f"{_pct(majority.get('one_off_accuracy'))} | — | — |",
        "",
        "Per true age group, FOSS (Table 2 layout, %):",
        "",
        _per_group_table(per_group),
        "",
    ]
