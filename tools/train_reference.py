#!/usr/bin/python3
"""Reference values for the evaluation side of `daemon train`, from scikit-learn and numpy as
the seed computes them (Deng, Chen & Shi, FG 2020; spec §6.1-6.2).

Writes a small JSON fixture that the TypeScript tests compare against (within 1e-5):
  test/fixtures/train/metrics.json  ABAW metrics as coded + the AU threshold search
(The losses' fixture, test/fixtures/train/losses-core.json, is written by
tools/train_losses_reference.py.)

Run with Debian's interpreter (sklearn 1.2, numpy): /usr/bin/python3 tools/train_reference.py
Not needed by CI: the fixtures are committed.
"""
import json
import os
import sys

import numpy as np
import sklearn
from sklearn.metrics import accuracy_score, f1_score, precision_recall_curve

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "test", "fixtures", "train")


def r(x):
    """Floats rounded to 9 significant digits (JSON stays small; tests allow 1e-5)."""
    if isinstance(x, (list, tuple)):
        return [r(v) for v in x]
    if isinstance(x, np.ndarray):
        return r(x.tolist())
    if x is None:
        return None
    if isinstance(x, (bool, np.bool_)):
        return bool(x)
    if isinstance(x, (int, np.integer)):
        return int(x)
    return float("%.9g" % float(x))


# ---------------------------------------------------------------- metrics (spec §6.1, MC/utils/model_utils.py)
def ccc_np(x, y):
    vx = x - np.mean(x)
    vy = y - np.mean(y)
    rho = np.sum(vx * vy) / (np.sqrt(np.sum(vx ** 2)) * np.sqrt(np.sum(vy ** 2)))
    x_m, y_m = np.mean(x), np.mean(y)
    x_s, y_s = np.std(x), np.std(y)
    return 2 * rho * x_s * y_s / (x_s ** 2 + y_s ** 2 + (x_m - y_m) ** 2)


def au_metric(gt, pred):
    f1s = [f1_score(gt[:, j], pred[:, j], zero_division=0) for j in range(gt.shape[1])]
    f1 = float(np.mean(f1s))
    acc = accuracy_score(gt.reshape(-1), pred.reshape(-1))
    return {"f1PerAu": r(f1s), "f1": r(f1), "acc": r(acc), "score": r(0.5 * f1 + 0.5 * acc)}


def expr_metric(gt, pred):
    f1 = f1_score(gt, pred, average="macro", zero_division=0)
    acc = accuracy_score(gt, pred)
    return {"f1": r(f1), "acc": r(acc), "score": r(0.67 * f1 + 0.33 * acc)}


def pr_threshold(gt, prob):
    """Spec §6.2: the threshold at argmin |precision - recall| of sklearn's precision_recall_curve.
    precision/recall have one more entry (P=1, R=0) than thresholds; an argmin there (where the
    original would raise IndexError) is clamped to the last threshold."""
    p, rc, th = precision_recall_curve(gt, prob)
    i = int(np.argmin(np.abs(p - rc)))
    return float(th[min(i, len(th) - 1)]), i


def metrics_fixture(rng):
    cases = []
    for case, (n, shift) in enumerate([(40, 0.0), (150, 0.3), (91, -0.2)]):
        gt_au = (rng.random((n, 8)) < np.array([0.3, 0.1, 0.2, 0.4, 0.5, 0.05, 0.1, 0.6])).astype(int)
        if case == 0:
            gt_au[:, 5] = 0  # an AU without positives
        # probabilities correlated with the truth
        logits = rng.normal(size=(n, 8)) + (gt_au * 2 - 1) * (1.0 + shift)
        prob = 1 / (1 + np.exp(-logits))
        pred = (prob > 0.5).astype(int)
        pred[:, 1] = 0  # an AU never predicted: F1 = 0
        gt_ex = rng.integers(0, 7, size=n)
        if case == 1:
            gt_ex[gt_ex == 3] = 2  # a class absent from the truth
        pred_ex = np.where(rng.random(n) < 0.5, gt_ex, rng.integers(0, 7, size=n))
        if case == 2:
            pred_ex[pred_ex == 6] = 5  # a class absent from the predictions
        v = np.clip(rng.normal(0.1, 0.4, size=n), -1, 1)
        a = np.clip(rng.normal(0.2, 0.3, size=n), -1, 1)
        pv = np.clip(v * 0.6 + rng.normal(0, 0.2, size=n), -1, 1)
        pa = np.clip(a * 0.4 + 0.1 + rng.normal(0, 0.25, size=n), -1, 1)
        au = au_metric(gt_au, pred)
        ex = expr_metric(gt_ex, pred_ex)
        ccc_v, ccc_a = ccc_np(pv, v), ccc_np(pa, a)
        # the threshold search on an "ensemble" of 3 members: per-member probabilities
        members = [np.array(r(1 / (1 + np.exp(-(logits + rng.normal(0, 0.5, size=(n, 8))))))) for _ in range(3)]  # rounded as stored
        mean = np.mean(members, axis=0)
        thr_mean = [pr_threshold(gt_au[:, j], mean[:, j])[0] if gt_au[:, j].sum() > 0 else None for j in range(8)]
        thr_last = [pr_threshold(gt_au[:, j], members[-1][:, j])[0] if gt_au[:, j].sum() > 0 else None for j in range(8)]
        pred_thr = np.stack([(mean[:, j] > (thr_mean[j] if thr_mean[j] is not None else 0.5)).astype(int) for j in range(8)], 1)
        cases.append({
            "au": {"gt": gt_au.tolist(), "pred": pred.tolist(), **au},
            "expr": {"gt": gt_ex.tolist(), "pred": pred_ex.tolist(), **ex},
            "va": {"gt": r(np.stack([v, a], 1)), "pred": r(np.stack([pv, pa], 1)),
                   "cccV": r(ccc_v), "cccA": r(ccc_a), "score": r(ccc_v + ccc_a)},
            "seedScore": r(ex["score"] + au["score"] + ccc_v + ccc_a),
            "thresholds": {
                "memberProbs": [r(m) for m in members],
                "ensembleMean": r(thr_mean),
                "lastMember": r(thr_last),
                "auWithEnsembleThresholds": au_metric(gt_au, pred_thr),
            },
        })
    # sklearn's precision_recall_curve on tied scores, spelled out
    gt = np.array([0, 1, 1, 0, 1, 0, 0, 1, 1, 0])
    sc = np.array([0.1, 0.4, 0.4, 0.35, 0.8, 0.8, 0.2, 0.9, 0.05, 0.4])
    p, rc, th = precision_recall_curve(gt, sc)
    pr = {"gt": gt.tolist(), "scores": r(sc), "precision": r(p), "recall": r(rc), "thresholds": r(th),
          "chosen": r(pr_threshold(gt, sc)[0])}
    return {"generator": "tools/train_reference.py", "sklearn": sklearn.__version__, "numpy": np.__version__,
            "cases": cases, "precisionRecallCurve": pr}


def main():
    os.makedirs(OUT, exist_ok=True)
    rng = np.random.default_rng(2020)
    for name, data in [("metrics.json", metrics_fixture(rng))]:
        with open(os.path.join(OUT, name), "w") as f:
            json.dump(data, f, separators=(",", ":"))
            f.write("\n")
        print("wrote", os.path.join(OUT, name), file=sys.stderr)


if __name__ == "__main__":
    main()
