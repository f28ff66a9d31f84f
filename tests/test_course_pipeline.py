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
    is_answer,
    is_test,
    is_written,
    kernel,
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


@pytest.mark.slow
@pytest.mark.notebooks
@pytest.mark.parametrize("aid", IDS)
def test_solution_runs_and_every_wrong_answer_fails(aid: str) -> None:
    """Run the instructor's notebook top to bottom in one kernel; at each test cell, try each
    listed wrong answer: the test must fail with a readable AssertionError, and pass again
    once the right answer is restored; each listed right answer written differently must
    pass."""
    nb = read(solution_path(aid))
    wrong = wrong_answers(aid)
    by_answer: dict[str, list] = {}
    for w in wrong:
        by_answer.setdefault(w.answer_id, []).append(w)
    right_by_answer: dict[str, list] = {}
    for r in right_answers(aid):
        right_by_answer.setdefault(r.answer_id, []).append(r)
    answers = {grade_id(c): c.source for c in nb.cells if is_answer(c)}
    tested = {a for a, t in answer_tests(nb).items() if t}
    missing = sorted(a for a in tested if len(by_answer.get(a, [])) < MIN_WRONG_ANSWERS)
    assert not missing, f"exercises with fewer than {MIN_WRONG_ANSWERS} wrong answers: {missing}"
    too_few = sorted(a for a in tested if len(right_by_answer.get(a, [])) < MIN_RIGHT_ANSWERS)
    assert not too_few, f"exercises with fewer than {MIN_RIGHT_ANSWERS} right answers: {too_few}"
    unknown = sorted((set(by_answer) | set(right_by_answer)) - set(answers))
    assert not unknown, f"wrong answers for unknown cells: {unknown}"
    last_answer: str | None = None
    checked = 0
    with kernel(solution_path(aid).parent) as k:
        k.run("import matplotlib; matplotlib.use('agg')")
        for i, cell in enumerate(nb.cells):
            if cell.cell_type != "code":
                continue
            result = k.run(cell.source)
            assert result.status == "ok", (
                f"cell {i} ({grade_id(cell) or 'ungraded'}) failed: {result.ename}: {result.evalue}"
            )
            if is_answer(cell):
                last_answer = grade_id(cell)
            if not is_test(cell) or last_answer is None:
                continue
            for w in by_answer.get(last_answer, []):
                k.run(w.source)
                res = k.run(cell.source)
                assert res.status == "error", (
                    f"{grade_id(cell)} passed the wrong answer '{w.description}'"
                )
                assert res.ename in ("AssertionError", "GradingTamperError"), (
                    f"{grade_id(cell)} on '{w.description}': expected an AssertionError with a "
                    f"message, got {res.ename}: {res.evalue}"
                )
                assert res.evalue.strip(), f"{grade_id(cell)}: empty message for {w.description}"
                if w.message:
                    assert w.message.lower() in res.evalue.lower(), (
                        f"{grade_id(cell)} on '{w.description}': message {res.evalue!r} "
                        f"does not mention {w.message!r}"
                    )
                checked += 1
                restored = k.run(answers[last_answer])
                assert restored.status == "ok"
                again = k.run(cell.source)
                assert again.status == "ok", f"{grade_id(cell)} fails after restoring: {again}"
            for r in right_by_answer.get(last_answer, []):
                defined = k.run(r.source)
                assert defined.status == "ok", f"right answer '{r.description}': {defined}"
                res = k.run(cell.source)
                assert res.status == "ok", (
                    f"{grade_id(cell)} rejects the right answer '{r.description}': "
                    f"{res.ename}: {res.evalue}"
                )
                checked += 1
                assert k.run(answers[last_answer]).status == "ok"
    assert checked == sum(
        len(by_answer.get(a, [])) + len(right_by_answer.get(a, [])) for a in tested
    )


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


@pytest.mark.slow
@pytest.mark.nbgrader
@pytest.mark.parametrize("aid", IDS)
def test_round_trip_through_gradebook(aid: str, tmp_path) -> None:
    """Generate, submit as three students, autograde, read the gradebook."""
    course = make_course(tmp_path, [aid])
    solution = read(solution_path(aid))
    test_points = {grade_id(c): points(c) for c in solution.cells if is_test(c)}
    total = sum(test_points.values())
    # one wrong answer per exercise that has tests: those tests lose their points
    first_wrong: dict[str, str] = {}
    for w in wrong_answers(aid):
        first_wrong.setdefault(w.answer_id, w.source)
    links = answer_tests(solution)
    wrong_ids = sorted(first_wrong)[::2]  # every other exercise wrong, the rest right
    lost = sum(test_points[t] for a in wrong_ids for t in links.get(a, []))
    submissions = {
        "perfect": student_version(aid),
        "untouched": read(lesson_path(aid)),
        "mixed": student_version(aid, replace={a: first_wrong[a] for a in wrong_ids}),
    }
    for student, nb in submissions.items():
        submit(course, aid, student, nb)
        result = autograde(course, aid, student)
        assert result["success"], result.get("log")
    perfect = scores(course, aid, "perfect")
    assert perfect["max_code_score"] == total
    assert perfect["code_score"] == total, perfect
    assert scores(course, aid, "untouched")["code_score"] == 0
    mixed = scores(course, aid, "mixed")
    assert lost > 0
    assert mixed["code_score"] == total - lost, mixed
    written = [c for c in solution.cells if is_written(c)]
    assert all(points(c) > 0 for c in written)


# A later exercise whose answer may call earlier answers: with those earlier answers wrong, a
# right answer to it must still score full marks (the test runs it with the references).
CASCADES = {
    "03_backprop_mlp": (
        "l03_two_layer_backward",
        "uses the earlier exercises' functions",
        ["l03_dense_backward", "l03_mse_grad", "l03_activation_derivatives"],
    ),
}


@pytest.mark.slow
@pytest.mark.nbgrader
@pytest.mark.parametrize("aid", IDS)
def test_catalogue_round_trip(aid: str, tmp_path) -> None:
    """Every catalogued answer, wrong and right, through generate, submit, autograde and the
    gradebook. Batched: student k answers every exercise with its k-th variant at once (the
    instructor's answer where an exercise has fewer), so the autograde runs are as many as the
    longest list of variants. Each exercise must score 0 for a wrong variant and full marks
    for a right one, whatever the other exercises of the same notebook hold; one more student
    checks that wrong earlier answers leave a dependent exercise's score unchanged."""
    course = make_course(tmp_path, [aid])
    solution = read(solution_path(aid))
    test_points = {grade_id(c): points(c) for c in solution.cells if is_test(c)}
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

    for k in range(students):
        chosen = {a: v[k] for a, v in variants.items() if k < len(v) and a in links}
        nb = student_version(aid, replace={a: w.source for a, (w, _) in chosen.items()})
        student = f"variant{k:02d}"
        submit(course, aid, student, nb)
        result = autograde(course, aid, student)
        assert result["success"], result.get("log")
        got = scores(course, aid, student)
        for answer in links:
            score, full = earned(got, answer)
            variant, right = chosen.get(answer, (None, True))
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
    print(
        f"\n{aid}: right accepted {tally[True][0]}/{tally[True][1]}, "
        f"wrong rejected {tally[False][0]}/{tally[False][1]}, {students} autograde runs"
    )
    if aid in CASCADES:
        later, description, earlier = CASCADES[aid]
        right = next(r for r in right_answers(aid) if r.description == description)
        first_wrong = {a: next(w for w in wrong_answers(aid) if w.answer_id == a) for a in earlier}
        replace = {a: w.source for a, w in first_wrong.items()} | {later: right.source}
        submit(course, aid, "cascade", student_version(aid, replace=replace))
        assert autograde(course, aid, "cascade")["success"]
        got = scores(course, aid, "cascade")
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
