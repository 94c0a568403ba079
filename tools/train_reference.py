#!/usr/bin/python3
"""Reference values for the data/eval side and the losses of `daemon train`, from PyTorch and
scikit-learn as the seed computes them (Deng, Chen & Shi, FG 2020; spec §3.2-3.3, §6.1-6.2).

Writes two small JSON fixtures that the TypeScript tests compare against (within 1e-5):
  test/fixtures/train/metrics.json  ABAW metrics as coded + the AU threshold search
  test/fixtures/train/losses.json   CE, BCEWithLogits, CE20 + bins, CCC loss, KL (T=1.5),
                                    the teacher loss L_T and the student loss L_S

Run with Debian's interpreter (torch 1.13, sklearn 1.2): /usr/bin/python3 tools/train_reference.py
Not needed by CI: the fixtures are committed.
"""
import json
import os
import sys

import numpy as np
import sklearn
import torch
import torch.nn.functional as F
from sklearn.metrics import accuracy_score, f1_score, precision_recall_curve

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "test", "fixtures", "train")
CENTRES = torch.linspace(-1, 1, 20, dtype=torch.float64)
EDGES = np.linspace(-1, 1, 21)
T = 1.5
LAMBDA_T = 0.4
WEIGHTS = {"AU": 8.0, "EXPR": 1.0, "V": 1.0, "A": 1.0, "ccc": 1.0}


def r(x):
    """Floats rounded to 9 significant digits (JSON stays small; tests allow 1e-5)."""
    if isinstance(x, (list, tuple)):
        return [r(v) for v in x]
    if isinstance(x, np.ndarray) or torch.is_tensor(x):
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


# ---------------------------------------------------------------- losses (spec §3.2-3.3)
def bins(y):
    """(number of edges <= y) - 1, index 20 clipped to 19."""
    idx = np.sum(EDGES[None, :] <= y[:, None], axis=1) - 1
    return np.clip(idx, 0, 19)


def ccc_torch(pred, gt):
    """The seed's CCC loss term: unbiased std (torch.std)."""
    vx = pred - pred.mean()
    vy = gt - gt.mean()
    rho = torch.sum(vx * vy) / (torch.sqrt(torch.sum(vx ** 2)) * torch.sqrt(torch.sum(vy ** 2)))
    sx, sy = pred.std(), gt.std()
    return 2 * rho * sx * sy / (sx ** 2 + sy ** 2 + (pred.mean() - gt.mean()) ** 2)


def expectation(z20):
    return torch.sum(F.softmax(z20, dim=-1) * CENTRES, dim=-1)


def va_half_loss(z20, y):
    b = torch.tensor(bins(y.numpy()), dtype=torch.long)
    ce = F.cross_entropy(z20, b)
    ccc = ccc_torch(expectation(z20), y)
    return ce, ccc, b


def kl(s, t):
    return F.kl_div(F.log_softmax(s / T, dim=-1), F.softmax(t / T, dim=-1), reduction="batchmean")


def gt_terms(task, out, labels):
    """Unweighted ground-truth terms G_k of the batch's own task."""
    if task == "EXPR":
        return {"EXPR": F.cross_entropy(out["EXPR"], labels)}
    if task == "AU":
        return {"AU": F.binary_cross_entropy_with_logits(out["AU"], labels)}
    ce_v, ccc_v, _ = va_half_loss(out["VA"][:, :20], labels[:, 0])
    ce_a, ccc_a, _ = va_half_loss(out["VA"][:, 20:], labels[:, 1])
    return {"V": ce_v + WEIGHTS["ccc"] * (1 - ccc_v), "A": ce_a + WEIGHTS["ccc"] * (1 - ccc_a)}


def distill_terms(s, t):
    return {
        "EXPR": kl(s["EXPR"], t["EXPR"]),
        "AU": F.binary_cross_entropy_with_logits(s["AU"], torch.sigmoid(t["AU"])),
        "V": kl(s["VA"][:, :20], t["VA"][:, :20]),
        "A": kl(s["VA"][:, 20:], t["VA"][:, 20:]),
    }


def losses_fixture(gen):
    B = 8
    def stored(x):
        """Inputs rounded as the JSON stores them, so the reference values are exact for them."""
        return torch.tensor(r(x), dtype=torch.float64)

    def heads():
        return {"EXPR": stored(torch.randn(B, 7, generator=gen, dtype=torch.float64) * 1.5),
                "AU": stored(torch.randn(B, 8, generator=gen, dtype=torch.float64) * 2),
                "VA": stored(torch.randn(B, 40, generator=gen, dtype=torch.float64) * 1.5)}
    labels = {
        "EXPR": torch.randint(0, 7, (B,), generator=gen),
        "AU": (torch.rand(B, 8, generator=gen, dtype=torch.float64) < 0.4).double(),
        # include the edges: -1 (bin 0), 1.0 (bin 20 -> 19), an exact inner edge
        "VA": stored(np.stack([np.r_[-1.0, 1.0, -0.3, 0.0, np.clip(np.random.default_rng(5).normal(0, 0.5, B - 4), -1, 1)],
                                     np.r_[0.1, -1.0, 1.0, 0.55, np.clip(np.random.default_rng(6).normal(0.2, 0.4, B - 4), -1, 1)]], 1)),
    }
    student = {t: heads() for t in ["EXPR", "AU", "VA"]}  # student outputs on each task batch
    teacher = {t: heads() for t in ["EXPR", "AU", "VA"]}  # teacher outputs on each task batch

    # teacher loss L_T: each task's own batch through the model (here: the "student" outputs)
    out = student
    ce_e = F.cross_entropy(out["EXPR"]["EXPR"], labels["EXPR"])
    bce = F.binary_cross_entropy_with_logits(out["AU"]["AU"], labels["AU"])
    ce_v, ccc_v, b_v = va_half_loss(out["VA"]["VA"][:, :20], labels["VA"][:, 0])
    ce_a, ccc_a, b_a = va_half_loss(out["VA"]["VA"][:, 20:], labels["VA"][:, 1])
    l_t = (WEIGHTS["EXPR"] * ce_e + WEIGHTS["AU"] * bce
           + WEIGHTS["V"] * (ce_v + WEIGHTS["ccc"] * (1 - ccc_v))
           + WEIGHTS["A"] * (ce_a + WEIGHTS["ccc"] * (1 - ccc_a)))

    # student loss L_S
    per_batch = {}
    total = 0
    for t in ["EXPR", "AU", "VA"]:
        d = distill_terms(student[t], teacher[t])
        g = gt_terms(t, student[t], labels[t])
        terms = {k: (LAMBDA_T * d[k] + (1 - LAMBDA_T) * g[k]) if k in g else d[k] for k in d}
        per_batch[t] = {"distill": {k: r(v.item()) for k, v in d.items()},
                        "groundTruth": {k: r(v.item()) for k, v in g.items()},
                        "terms": {k: r(v.item()) for k, v in terms.items()},
                        "sum": r(sum(terms.values()).item())}
        total = total + sum(terms.values())
    l_s = total / 3

    return {
        "generator": "tools/train_reference.py",
        "torch": torch.__version__,
        "layout": (
            "outputs[batchTask][head]: logits [B, n] with heads EXPR (7), AU (8), VA (40: valence bins 0-19, arousal 20-39), "
            "for the three task batches EXPR, AU, VA in the seed's order; 'student' is also the model of the teacher loss. "
            "labels.EXPR: class ints [B]; labels.AU: 0/1 [B, 8]; labels.VA: [B, 2] (valence, arousal). "
            "Each loss is a mean over the batch (BCE over B*8), float64 reference values."
        ),
        "constants": {"T": T, "lambdaTeacher": LAMBDA_T, "weights": WEIGHTS, "centres": CENTRES.tolist(), "binEdges": EDGES.tolist(),
                      "edgesNote": "full float64 precision: numpy's linspace(-1, 1, 21) = -1 + 0.1*i (so edge 7 is -0.29999999999999993 and y = -0.3 falls in bin 6)"},
        "batch": B,
        "labels": {"EXPR": labels["EXPR"].tolist(), "AU": r(labels["AU"]), "VA": r(labels["VA"])},
        "student": {t: {h: r(v) for h, v in student[t].items()} for t in student},
        "teacher": {t: {h: r(v) for h, v in teacher[t].items()} for t in teacher},
        "single": {
            "ceExpr": r(ce_e.item()),
            "bceAu": r(bce.item()),
            "binsValence": b_v.tolist(), "binsArousal": b_a.tolist(),
            "ce20Valence": r(ce_v.item()), "ce20Arousal": r(ce_a.item()),
            "expectationValence": r(expectation(out["VA"]["VA"][:, :20])),
            "expectationArousal": r(expectation(out["VA"]["VA"][:, 20:])),
            "cccValence": r(ccc_v.item()), "cccArousal": r(ccc_a.item()),
            "cccLossValence": r(1 - ccc_v.item()), "cccLossArousal": r(1 - ccc_a.item()),
            "klExpr": r(kl(student["EXPR"]["EXPR"], teacher["EXPR"]["EXPR"]).item()),
            "klValence": r(kl(student["VA"]["VA"][:, :20], teacher["VA"]["VA"][:, :20]).item()),
            "klArousal": r(kl(student["VA"]["VA"][:, 20:], teacher["VA"]["VA"][:, 20:]).item()),
            "bceDistillAu": r(F.binary_cross_entropy_with_logits(student["AU"]["AU"], torch.sigmoid(teacher["AU"]["AU"])).item()),
        },
        "teacherLoss": {
            "description": "L_T = 1*CE(EXPR batch) + 8*BCE(AU batch) + 1*[CE20_v + 1*(1-CCC_v)] + 1*[CE20_a + 1*(1-CCC_a)] (VA batch), student outputs as the model",
            "value": r(l_t.item()),
        },
        "studentLoss": {
            "description": "L_S = (1/3) sum over task batches t of sum over heads k of (k == t's head(s) ? 0.4*D_k + 0.6*G_k : D_k)",
            "perBatch": per_batch,
            "value": r(l_s.item()),
        },
    }


def main():
    os.makedirs(OUT, exist_ok=True)
    rng = np.random.default_rng(2020)
    gen = torch.Generator().manual_seed(2020)
    for name, data in [("metrics.json", metrics_fixture(rng)), ("losses.json", losses_fixture(gen))]:
        with open(os.path.join(OUT, name), "w") as f:
            json.dump(data, f, separators=(",", ":"))
            f.write("\n")
        print("wrote", os.path.join(OUT, name), file=sys.stderr)


if __name__ == "__main__":
    main()
