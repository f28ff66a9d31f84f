"""The lesson pipeline: clean sources, generated releases, every test fair and every answer
checked, through real kernels and nbgrader's own API and gradebook."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from course_utils import (
    LESSONS,
    ROOT,
    SOLUTIONS,
    answer_tests,
    assignment_ids,
    autograde,
    grade_id,
    graded_errors,
    is_answer,
    is_test,
    is_written,
    lesson_path,
    make_course,
    points,
    read,
    right_answers,
    scores,
    solution_path,
    student_version,
    submit,
    wrong_answers,
)

IDS = assignment_ids()
MIN_GRADED_EXERCISES = 4
MIN_WRONG_ANSWERS = 2
MIN_RIGHT_ANSWERS = 2
MARKERS = re.compile(r"BEGIN SOLUTION|END SOLUTION|BEGIN HIDDEN TESTS|END HIDDEN TESTS")


def test_course_has_seven_lessons() -> None:
    assert [aid[:2] for aid in IDS] == ["01", "02", "03", "04", "05", "06", "07"], IDS


@pytest.mark.parametrize("path", sorted(SOLUTIONS.rglob("*.ipynb")), ids=str)
def test_solution_sources_carry_no_outputs(path) -> None:
    nb = json.loads(path.read_text(encoding="utf-8"))
    dirty = [
        i
        for i, c in enumerate(nb["cells"])
        if c.get("outputs") or c.get("execution_count") is not None
    ]
    assert not dirty, f"{path.relative_to(ROOT)}: cells {dirty} carry outputs or counts"


@pytest.mark.parametrize("aid", IDS)
def test_lesson_structure(aid: str) -> None:
    """Names, headings, unique grade ids, enough exercises, each with visible and hidden tests."""
    nb = read(solution_path(aid))
    ids = [grade_id(c) for c in nb.cells if grade_id(c)]
    assert len(ids) == len(set(ids)), "duplicate grade_id"
    prefix = f"l{aid[:2]}_"
    assert all(i.startswith(prefix) for i in ids), [i for i in ids if not i.startswith(prefix)]
    assert nb.cells[0].cell_type == "markdown" and nb.cells[0].source.startswith(f"# {aid[:2]}")
    graded = [c for c in nb.cells if is_test(c)]
    answers = answer_tests(nb)
    assert len([a for a, t in answers.items() if t]) >= MIN_GRADED_EXERCISES, answers
    for cell in graded:
        assert points(cell) > 0, grade_id(cell)
        assert "### BEGIN HIDDEN TESTS" in cell.source, f"{grade_id(cell)} has no hidden tests"
        visible = cell.source.split("### BEGIN HIDDEN TESTS")[0]
        assert visible.lstrip().startswith('"""'), f"{grade_id(cell)}: open with a docstring"
    headings = [c.source for c in nb.cells if c.cell_type == "markdown"]
    assert any(re.search(r"^##+ .*Summary", h, re.M) for h in headings), "no Summary section"


@pytest.mark.parametrize("aid", IDS)
def test_release_leaks_nothing(aid: str) -> None:
    text = lesson_path(aid).read_text(encoding="utf-8")
    assert not MARKERS.search(text)
    release = read(lesson_path(aid))
    solution = read(solution_path(aid))
    hidden = {
        grade_id(c): c.source.split("### BEGIN HIDDEN TESTS")[1].split("### END HIDDEN TESTS")[0]
        for c in solution.cells
        if is_test(c)
    }
    for cell in release.cells:
        assert not cell.get("outputs"), "release notebooks carry no outputs"
        if is_answer(cell):
            assert "raise NotImplementedError()" in cell.source
        if is_test(cell):
            body = hidden[grade_id(cell)].strip()
            assert body and body not in cell.source, f"hidden test of {grade_id(cell)} leaked"
    for cell in solution.cells:
        if is_answer(cell):
            inner = cell.source.split("### BEGIN SOLUTION")[1].split("### END SOLUTION")[0]
            lines = [ln.strip() for ln in inner.splitlines() if len(ln.strip()) > 12]
            leaked = [ln for ln in lines if ln in text]
            assert not leaked, f"{grade_id(cell)}: solution lines in lessons/: {leaked[:3]}"


@pytest.mark.slow
@pytest.mark.nbgrader
def test_lessons_match_a_fresh_generation() -> None:
    """lessons/ is byte-identical to what generate_assignment makes from solutions/ now."""
    from bpcourse.cli import release_differences

    assert release_differences(ROOT) == []
    assert sorted(p.name for p in LESSONS.iterdir() if p.is_dir()) == IDS


@pytest.mark.parametrize("aid", IDS)
def test_catalogue_covers_every_exercise(aid: str) -> None:
    """Every graded exercise has at least two wrong and two right answers in the catalogue
    (``tests/wrong_answers``), and the catalogue names no answer cell the lesson lacks. The
    answers themselves go through nbgrader in :func:`test_catalogue_round_trip`."""
    nb = read(solution_path(aid))
    counts: dict[str, list[int]] = {}
    for w in wrong_answers(aid):
        counts.setdefault(w.answer_id, [0, 0])[0] += 1
    for r in right_answers(aid):
        counts.setdefault(r.answer_id, [0, 0])[1] += 1
    answers = {grade_id(c) for c in nb.cells if is_answer(c)}
    tested = {a for a, t in answer_tests(nb).items() if t}
    missing = sorted(a for a in tested if counts.get(a, [0, 0])[0] < MIN_WRONG_ANSWERS)
    assert not missing, f"exercises with fewer than {MIN_WRONG_ANSWERS} wrong answers: {missing}"
    too_few = sorted(a for a in tested if counts.get(a, [0, 0])[1] < MIN_RIGHT_ANSWERS)
    assert not too_few, f"exercises with fewer than {MIN_RIGHT_ANSWERS} right answers: {too_few}"
    unknown = sorted(set(counts) - answers)
    assert not unknown, f"wrong answers for unknown cells: {unknown}"


@pytest.mark.slow
@pytest.mark.nbgrader
@pytest.mark.parametrize("aid", IDS)
def test_nbgrader_validator(aid: str) -> None:
    """nbgrader's Validator: the solution passes every test; the release fails every one."""
    from nbgrader.validator import Validator

    from bpcourse.cli import ensure_tools_on_path, load_config

    ensure_tools_on_path()
    config = load_config(ROOT)
    assert Validator(config=config).validate(str(solution_path(aid))) == {}
    config.Validator.invert = True
    inverted = Validator(config=config).validate(str(lesson_path(aid)))
    assert "passed" not in inverted, f"tests passing on the untouched release: {inverted}"


# A later exercise whose answer may call earlier answers: with those earlier answers wrong, a
# right answer to it must still score full marks (the test runs it with the references).
CASCADES = {
    "03_backprop_mlp": (
        "l03_two_layer_backward",
        "uses the earlier exercises' functions",
        ["l03_dense_backward", "l03_mse_grad", "l03_activation_derivatives"],
    ),
}


FAILURES = ("AssertionError", "GradingTamperError")  # how a test cell may reject an answer


@pytest.mark.slow
@pytest.mark.nbgrader
# the later lessons first: they take longest, and a long test started last prolongs the run
@pytest.mark.parametrize("aid", IDS[::-1])
def test_catalogue_round_trip(aid: str, tmp_path) -> None:
    """Every catalogued answer, wrong and right, through generate, submit, autograde and the
    gradebook, next to a student who submits the instructor's answers and one who submits
    the untouched release.

    Batched: student k answers every exercise with its k-th variant at once (the
    instructor's answer where an exercise has fewer), so the autograde runs are as many as the
    longest list of variants. Each exercise must score 0 for a wrong variant and full marks
    for a right one, whatever the other exercises of the same notebook hold, and each
    student's code score must be the sum of those; every test cell of a wrong variant must
    show a readable AssertionError (or the grading helpers' tamper error) in the graded
    notebook, with the catalogue's message fragment where it gives one. One more student
    checks that wrong earlier answers leave a dependent exercise's score unchanged."""
    course = make_course(tmp_path, [aid])
    solution = read(solution_path(aid))
    test_points = {grade_id(c): points(c) for c in solution.cells if is_test(c)}
    total = sum(test_points.values())
    links = {a: t for a, t in answer_tests(solution).items() if t}
    variants: dict[str, list[tuple[Any, bool]]] = {}
    for w in wrong_answers(aid):
        variants.setdefault(w.answer_id, []).append((w, False))
    for r in right_answers(aid):
        variants.setdefault(r.answer_id, []).append((r, True))
    students = max(len(v) for v in variants.values())
    problems: list[str] = []
    tally = {True: [0, 0], False: [0, 0]}  # right: [accepted, total]; wrong: [rejected, total]

    def earned(got: dict[str, float], answer: str) -> tuple[float, float]:
        return (
            sum(got[t] for t in links[answer]),
            sum(test_points[t] for t in links[answer]),
        )

    def graded(student: str, nb: Any) -> dict[str, float]:
        submit(course, aid, student, nb)
        result = autograde(course, aid, student)
        assert result["success"], result.get("log")
        return scores(course, aid, student)

    perfect = graded("perfect", student_version(aid))
    assert perfect["max_code_score"] == total
    assert perfect["code_score"] == total, perfect
    assert graded("untouched", read(lesson_path(aid)))["code_score"] == 0
    assert all(points(c) > 0 for c in solution.cells if is_written(c))

    for k in range(students):
        chosen = {a: v[k] for a, v in variants.items() if k < len(v) and a in links}
        student = f"variant{k:02d}"
        got = graded(
            student, student_version(aid, replace={a: w.source for a, (w, _) in chosen.items()})
        )
        errors = graded_errors(course, aid, student)
        expected = 0.0
        for answer in links:
            score, full = earned(got, answer)
            variant, right = chosen.get(answer, (None, True))
            expected += full if right else 0.0
            if variant is None:
                if score != full:
                    problems.append(f"{student}: {answer} (instructor's answer) {score}/{full}")
                continue
            tally[right][1] += 1
            if (score == full) if right else (score == 0):
                tally[right][0] += 1
            else:
                kind = "right" if right else "wrong"
                problems.append(f"{answer} {kind} '{variant.description}': {score}/{full}")
            if right:
                continue
            for test in links[answer]:
                ename, evalue = (errors.get(test) or [("", "")])[-1]
                if ename not in FAILURES or not evalue.strip():
                    problems.append(
                        f"{test} on '{variant.description}': expected an AssertionError with a "
                        f"message, got {ename or 'no error'}: {evalue!r}"
                    )
                elif variant.message and variant.message.lower() not in evalue.lower():
                    problems.append(
                        f"{test} on '{variant.description}': message {evalue!r} does not "
                        f"mention {variant.message!r}"
                    )
        if got["code_score"] != expected:
            problems.append(f"{student}: code score {got['code_score']}, expected {expected}")
    print(
        f"\n{aid}: right accepted {tally[True][0]}/{tally[True][1]}, "
        f"wrong rejected {tally[False][0]}/{tally[False][1]}, {students + 2} autograde runs"
    )
    if aid in CASCADES:
        later, description, earlier = CASCADES[aid]
        right = next(r for r in right_answers(aid) if r.description == description)
        first_wrong = {a: next(w for w in wrong_answers(aid) if w.answer_id == a) for a in earlier}
        replace = {a: w.source for a, w in first_wrong.items()} | {later: right.source}
        got = graded("cascade", student_version(aid, replace=replace))
        score, full = earned(got, later)
        print(f"{aid} cascade: {later} {score}/{full} with {earlier} wrong")
        if score != full:
            problems.append(f"cascade: {later} {score}/{full} with wrong {earlier}")
        for a in earlier:
            if earned(got, a)[0] != 0:
                problems.append(f"cascade: the wrong answer to {a} scored {earned(got, a)[0]}")
    assert not problems, "\n".join(problems)


_ONE_LINE_DELEGATIONS = {
    "l04_sgd_step": "def sgd_step(param, grad, lr):\n    return optim.sgd_step(param, grad, lr)\n",
    "l04_largest_stable_lr": (
        "def largest_stable_lr(H):\n    return dynamics.largest_stable_lr(H)\n"
    ),
    "l04_momentum_step": (
        "def momentum_step(param, grad, velocity, lr, momentum=0.9):\n"
        "    return optim.momentum_step(param, grad, velocity, lr, momentum)\n"
    ),
    "l04_early_stopping": (
        "def early_stopping_epoch(val_loss, patience):\n"
        "    return dynamics.early_stopping_epoch(val_loss, patience)\n"
    ),
}


@pytest.mark.slow
@pytest.mark.nbgrader
def test_lesson04_delegating_submission_scores_like_the_blank_release(tmp_path) -> None:
    """Four answer cells that hand the exercise to the package's own function, the other two
    left blank: through the gradebook this scores what the untouched release scores, 0."""
    aid = "04_gradient_descent"
    course = make_course(tmp_path, [aid])
    delegating = read(lesson_path(aid))
    for cell in delegating.cells:
        if grade_id(cell) in _ONE_LINE_DELEGATIONS:
            cell.source = _ONE_LINE_DELEGATIONS[grade_id(cell)]
    for student, nb in {"delegating": delegating, "blank": read(lesson_path(aid))}.items():
        submit(course, aid, student, nb)
        assert autograde(course, aid, student)["success"]
    got, blank = scores(course, aid, "delegating"), scores(course, aid, "blank")
    assert got["code_score"] == blank["code_score"] == 0, (got, blank)
