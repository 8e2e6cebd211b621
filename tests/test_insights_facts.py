"""The insights facts follow every write to `post`, whichever path made it: the services, a
moderator's soft delete, the importer's bulk SQL, a hard delete. They are kept by database
triggers, so this runs on SQLite and again on PostgreSQL."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from community import acceptance, clock, db, questions
from community.models import Post

T0 = datetime(2026, 3, 2, 23, 30, tzinfo=timezone.utc)


def _ms(when: datetime | None) -> int | None:
    return None if when is None else round(when.timestamp() * 1000)


async def _expected() -> dict[int, tuple]:
    """Each question's facts worked out in Python from its post row and its accepted answer."""
    out = {}
    for q in await Post.filter(kind="question"):
        a = await Post.get_or_none(id=q.accepted_answer_id) if q.accepted_answer_id else None
        asked = _ms(q.created_at)
        out[q.id] = (asked // 86_400_000, asked,
                     None if q.first_answer_at is None else _ms(q.first_answer_at) - asked,
                     None if a is None else _ms(a.created_at) - asked,
                     None if a is None else _ms(a.created_at), None if a is None else a.author_id,
                     None if a is None else bool(a.official), q.deleted_at is None and not q.hidden)
    return out


async def _facts() -> dict[int, tuple]:
    rows = await db.fetch("SELECT * FROM insights_question")
    return {int(r["question_id"]): (r["day"], r["asked_ms"], r["first_wait_ms"], r["solution_wait_ms"], r["solved_at_ms"],
                                    r["solver_id"], None if r["solved_officially"] is None else bool(r["solved_officially"]),
                                    bool(r["visible"])) for r in rows}


def _aware(when: datetime | str) -> datetime:
    """A timestamp as read back by raw SQL (a string on SQLite), as an aware datetime."""
    when = datetime.fromisoformat(when) if isinstance(when, str) else when
    return when if when.tzinfo else when.replace(tzinfo=timezone.utc)


def _month(ms: int) -> int:
    when = datetime.fromtimestamp(ms / 1000, timezone.utc)
    return (when.year - 1970) * 12 + when.month - 1


def _add(table: dict, key: tuple, amount: int = 1) -> None:
    table[key] = table.get(key, 0) + amount


async def _assert_rollups_match_facts() -> None:
    """Every roll-up equals what counting the facts, the tickets and the ledger row by row gives."""
    from community.insights import rollup

    facts = [r for r in await db.fetch("SELECT * FROM insights_question") if r["visible"]]
    days: dict = {}
    waits: dict = {}
    accepted: dict = {}
    for f in facts:
        first, solution = f["first_wait_ms"], f["solution_wait_ms"]
        row = days.setdefault(int(f["day"]), [0, 0, 0, 0])
        row[0] += 1
        row[1] += first is not None
        row[2] += first is not None and first < 3_600_000
        row[3] += solution is not None
        assert int(f["month"]) == _month(int(f["asked_ms"]))
        for span, period in (("day", int(f["day"])), ("month", int(f["month"]))):
            _add(waits, ("first", span, period, rollup.bucket(first)))
            if solution is not None:
                _add(waits, ("solution", span, period, rollup.bucket(solution)))
        if f["solver_id"] is not None and f["solved_at_ms"] is not None:
            month = _month(int(f["solved_at_ms"]))
            _add(accepted, ("accepted", "month", month, int(f["solver_id"])))
            _add(accepted, ("accepted", "year", month // 12 + 1970, int(f["solver_id"])))
    got = {int(r["day"]): [int(r["asked"]), int(r["answered"]), int(r["within_hour"]), int(r["solved"])]
           for r in await db.fetch("SELECT * FROM insights_day") if int(r["asked"])}
    assert got == days
    got = {(r["measure"], r["span"], int(r["period"]), int(r["bucket"])): int(r["n"])
           for r in await db.fetch("SELECT * FROM insights_wait") if int(r["n"])}
    assert got == waits
    for e in await db.fetch("SELECT user_id, amount, day FROM reputation_event"):
        day = e["day"] if not isinstance(e["day"], str) else datetime.fromisoformat(e["day"]).date()
        month = (day.year - 1970) * 12 + day.month - 1
        _add(accepted, ("reputation", "month", month, int(e["user_id"])), int(e["amount"]))
        _add(accepted, ("reputation", "year", day.year, int(e["user_id"])), int(e["amount"]))
    got = {(r["kind"], r["span"], int(r["period"]), int(r["user_id"])): int(r["amount"])
           for r in await db.fetch("SELECT * FROM insights_contribution") if int(r["amount"])}
    assert got == {k: v for k, v in accepted.items() if v}
    tickets = await db.fetch("SELECT t.id, t.question_id, f.day, f.visible, f.solved_officially, t.state FROM support_ticket t "
                             "JOIN insights_question f ON f.question_id = t.question_id ORDER BY t.id")
    mirror = await db.fetch("SELECT ticket_id, question_id, day, visible, solved_officially, resolved FROM insights_ticket ORDER BY ticket_id")
    assert [(int(t["id"]), int(t["question_id"]), int(t["day"]), bool(t["visible"]),
             None if t["solved_officially"] is None else bool(t["solved_officially"]), t["state"] == "resolved") for t in tickets] == \
        [(int(m["ticket_id"]), int(m["question_id"]), int(m["day"]), bool(m["visible"]),
          None if m["solved_officially"] is None else bool(m["solved_officially"]), bool(m["resolved"])) for m in mirror]


async def test_facts_follow_every_kind_of_write(database, users, fake_clock):
    fake_clock.set(T0)
    ann, ben, sam = await users("ann"), await users("ben"), await users("sam", 1, "staff")
    q1 = await questions.ask(ann, "My eSIM will not activate at all", "It says activation failed every time.", "esim")
    fake_clock.advance(minutes=20)  # the answer lands on the next UTC day: the day is the asking day's
    await questions.answer(ann, q1.id, "I am adding more details: it is an iPhone 15.")  # self-answer: no clock stop
    assert (await _facts())[q1.id][2] is None
    fake_clock.advance(minutes=25)
    a1 = await questions.answer(ben, q1.id, "Restart the phone, then scan the QR code again.")
    fake_clock.advance(minutes=30)
    official = await questions.answer(sam, q1.id, "We have re-issued your eSIM profile.", official=True)
    await acceptance.accept(ann, q1.id, a1.id)
    assert await _facts() == await _expected()
    assert (await _facts())[q1.id][2] == 45 * 60_000 and (await _facts())[q1.id][0] == (_ms(T0) // 86_400_000)

    await acceptance.accept(ann, q1.id, official.id)  # switch to the staff answer
    assert (await _facts())[q1.id][6] is True
    await acceptance.unaccept(ann, q1.id)
    assert (await _facts())[q1.id][3:7] == (None, None, None, None)

    q2 = await questions.ask(ben, "Roaming charges in France look wrong", "I was charged twice for one day.", "roaming")
    # A moderator's soft delete and a hide, written as plain SQL updates.
    await db.execute("UPDATE post SET deleted_at = ? WHERE id = ?", [clock.now(), q2.id])
    assert (await _facts())[q2.id][7] is False
    await db.execute("UPDATE post SET deleted_at = NULL, hidden = ? WHERE id = ?", [True, q2.id])
    assert (await _facts())[q2.id][7] is False
    await db.execute("UPDATE post SET hidden = ? WHERE id = ?", [False, q2.id])

    # The importer's path: rows inserted with SQL, first answers set afterwards in bulk.
    old = T0 - timedelta(days=400)
    await db.execute("INSERT INTO post (kind, title, body, body_html, score, created_at, last_activity_at, official, tag_names, "
                     "state, answer_count, view_count, locked, hidden, escalation_exempt, author_id) VALUES "
                     "('question', 'Imported question about top-ups', 'b', '<p>b</p>', 0, ?, ?, ?, 'topup', 'unanswered', 0, 0, ?, ?, ?, ?)",
                     [old, old, False, False, False, True, ann.id])
    imported = (await db.fetch("SELECT MAX(id) AS id FROM post"))[0]["id"]
    await db.execute("UPDATE post SET first_answer_at = ?, state = 'answered' WHERE id = ?", [old + timedelta(hours=3), imported])
    assert (await _facts())[imported][2] == 3 * 3_600_000

    await db.execute("DELETE FROM post WHERE id = ?", [imported])  # a hard delete takes its facts along
    facts = await _facts()
    assert imported not in facts and set(facts) == {q1.id, q2.id}
    assert facts == await _expected()
    await _assert_rollups_match_facts()


async def _insert_question(author_id: int, asked: datetime, first_answer: datetime | None, hidden: bool = False) -> int:
    await db.execute("INSERT INTO post (kind, title, body, body_html, score, created_at, last_activity_at, official, tag_names, "
                     "state, answer_count, first_answer_at, view_count, locked, hidden, escalation_exempt, author_id) VALUES "
                     "('question', 'A question about data', 'b', '<p>b</p>', 0, ?, ?, ?, 'data', ?, 0, ?, 0, ?, ?, ?, ?)",
                     [asked, asked, False, "unanswered" if first_answer is None else "answered", first_answer, False, hidden,
                      True, author_id])
    return int((await db.fetch("SELECT MAX(id) AS id FROM post"))[0]["id"])


async def test_histograms_percentiles_and_what_if_equal_a_count_of_every_question(database, users, fake_clock):
    """Waits across every bucket tier and on their edges; the roll-ups must give what counting
    each question gives, before and after questions change."""
    import random

    from community.insights import rollup
    from community.insights.periods import Period
    from community.insights.whatif import sla_whatif

    rng = random.Random(7)
    ann = await users("ann")
    start = datetime(2025, 12, 20, tzinfo=timezone.utc)  # to 2026-03-05: loose days, and whole months between
    now = start + timedelta(days=75, hours=2)
    fake_clock.set(now)
    edges = [-5_000, 0, 59_999, 60_000, 3_599_999, 3_600_000, 86_399_999, 86_400_000, 2_591_999_999, 2_592_000_000, 40 * 86_400_000]
    ids = {}
    for n in range(160):
        asked = start + timedelta(seconds=rng.randrange(75 * 86_400 + 7_000))
        if n < len(edges):
            wait = edges[n]
        elif n % 9 == 0:
            wait = None
        else:
            wait = int(rng.expovariate(1 / 2_400_000))  # mostly within the hour, a long tail
        first = None if wait is None else asked + timedelta(milliseconds=wait)
        ids[await _insert_question(ann.id, asked, first, hidden=(n % 17 == 5))] = (asked, wait)
    # Changes after the fact: an answer arrives, one is hidden, one comes back.
    changed = list(ids)[20:23]
    await db.execute("UPDATE post SET first_answer_at = ? WHERE id = ?", [ids[changed[0]][0] + timedelta(minutes=3), changed[0]])
    ids[changed[0]] = (ids[changed[0]][0], 180_000)
    await db.execute("UPDATE post SET hidden = ? WHERE id = ?", [True, changed[1]])
    await db.execute("UPDATE post SET hidden = ? WHERE id IN (SELECT id FROM post WHERE kind = 'question' AND hidden = ?)", [False, True])

    await _assert_rollups_match_facts()
    visible = {qid: ids[qid] for qid in ids if not (await Post.get(id=qid)).hidden}
    period = Period(start.date(), (start + timedelta(days=75)).date())
    assert rollup.split(period).months and rollup.split(period).days  # both kinds of histogram rows are read
    for b in range(-1, 1000, 7):  # the Python mirror of the migration's bucket formula
        if b >= 0:
            low, high = rollup.bucket_range(b)
            assert rollup.bucket(high - 1) == b and (low is None or rollup.bucket(low) == b)

    for part in (period, Period(start.date() + timedelta(days=14), start.date() + timedelta(days=20))):
        waits = sorted(w for asked, w in visible.values() if w is not None and part.first <= asked.date() <= part.last)
        n = len(waits)
        median, p90, count = await rollup.median_and_p90("first", part)
        assert count == n
        assert median == (waits[(n + 1) // 2 - 1] + waits[(n + 2) // 2 - 1]) / 2
        assert p90 == waits[(9 * n + 9) // 10 - 1]

    now_ms = _ms(now)
    for minutes in (1, 59, 60, 61, 600, 1440, 43_200):
        sla = minutes * 60_000
        late = [(asked, wait) for asked, wait in visible.values()
                if (wait is not None and wait >= sla) or (wait is None and now_ms - _ms(asked) >= sla)]
        result = await sla_whatif(period, minutes)
        assert result.questions == len(visible)
        assert result.would_escalate == len(late), minutes
        per_day = {d["day"]: d["would_escalate"] for d in result.per_day if d["would_escalate"]}
        expected_days: dict[str, int] = {}
        hours: dict[int, int] = {}
        for asked, _ in late:
            expected_days[asked.date().isoformat()] = expected_days.get(asked.date().isoformat(), 0) + 1
            hour = (_ms(asked) + sla) % 86_400_000 // 3_600_000
            hours[hour] = hours.get(hour, 0) + 1
        assert per_day == expected_days, minutes
        if late:
            best = min(hours, key=lambda h: (-hours[h], h))
            assert (result.busiest_hour["hour"], result.busiest_hour["would_escalate"]) == (best, hours[best])


async def test_reputation_gained_over_a_range_adds_whole_years_months_and_loose_days(database, users, fake_clock):
    from datetime import date

    from community.insights import rollup
    from community.insights.periods import Period

    assert rollup.split(Period(date(2024, 12, 20), date(2026, 2, 10)), years=True) == rollup.Pieces(
        days=[(date(2024, 12, 20), date(2024, 12, 31)), (date(2026, 2, 1), date(2026, 2, 10))],
        months=[(672, 672)], years=[(2025, 2025)])
    ann, ben = await users("ann"), await users("ben")
    day = date(2025, 11, 20)
    amounts = []
    for n in range(140):  # 2025-11-20 .. 2026-04-08, across a year's end
        if n == 40:
            day = date(2024, 12, 25)  # and a whole year (2025) for the widest range
        for who, amount in ((ann, 10 if n % 3 else -2), (ben, 15 if n % 5 == 0 else 2)):
            when = datetime.combine(day, datetime.min.time(), tzinfo=timezone.utc)
            await db.execute("INSERT INTO reputation_event (user_id, amount, reason, ref, post_id, created_at, day) "
                             "VALUES (?, ?, 'upvoted', ?, NULL, ?, ?)", [who.id, amount, f"test:{n}", when, day])
            amounts.append((who.id, day, amount))
        day += timedelta(days=1)
    for first, last in ((date(2025, 11, 25), date(2026, 3, 3)), (date(2025, 12, 1), date(2026, 2, 28)),
                        (date(2026, 1, 10), date(2026, 1, 20)), (date(2025, 1, 1), date(2026, 12, 31)),
                        (date(2024, 12, 20), date(2026, 2, 10))):
        totals: dict[int, int] = {}
        for uid, d, amount in amounts:
            if first <= d <= last:
                totals[uid] = totals.get(uid, 0) + amount
        expected = sorted(({"user_id": u, "gained": g} for u, g in totals.items() if g > 0),
                          key=lambda r: (-r["gained"], r["user_id"]))
        expected = [{"user_id": r["user_id"], "amount": r["gained"]} for r in expected]
        assert await rollup.top_contributors("reputation", Period(first, last), 10) == expected, (first, last)
    await _assert_rollups_match_facts()



async def test_roll_ups_follow_statements_that_change_many_rows_at_once(database, users, fake_clock):
    """Bulk writers (the importer, the sweeper) change hundreds of rows in one statement; on
    PostgreSQL the roll-ups add such a statement up per roll-up row, so rows sharing a day or a
    month, rows that did not really change, and rows changing twice must all come out right."""
    from community.insights.models import DayCount

    ann, ben = await users("ann"), await users("ben")
    fake_clock.set(T0 + timedelta(days=2))
    posts = [Post(kind="question", author_id=ann.id, title=f"Bulk question number {n}", body="b", body_html="<p>b</p>",
                  created_at=T0 - timedelta(minutes=n * 7), last_activity_at=T0, tag_names="bulk", external_id=f"bulk:{n}")
             for n in range(60)]  # one statement; all on 2026-03-02 but the last few (2026-03-01)
    await db.insert_many(posts)
    ids = [int(r["id"]) for r in await db.fetch("SELECT id FROM post WHERE external_id LIKE 'bulk:%' ORDER BY id")]
    assert len(ids) == 60
    assert sum(int(d.asked) for d in await DayCount.all()) == 60
    # One statement: 40 questions get a first answer 30 minutes in, 20 are written back unchanged.
    answered = [qid for qid in ids if qid % 3]
    asked = {int(r["id"]): r["created_at"] for r in await db.fetch("SELECT id, created_at FROM post WHERE kind = 'question'")}
    cases = " ".join(["WHEN ? THEN ?"] * len(answered))
    await db.execute(f"UPDATE post SET first_answer_at = CASE id {cases} ELSE first_answer_at END, score = score + 1",
                     [v for qid in answered for v in (qid, _aware(asked[qid]) + timedelta(minutes=30))])
    assert sum(f[2] == 30 * 60_000 for f in (await _facts()).values()) == len(answered)
    # Answers (a multi-row insert), then accepted in one statement: solutions across both days.
    answers = [Post(kind="answer", question_id=qid, author_id=ben.id, body="Try this.", body_html="<p>Try this.</p>",
                    created_at=T0 + timedelta(hours=1), last_activity_at=T0) for qid in ids[:30]]
    await db.insert_many(answers)
    await db.execute("UPDATE post SET accepted_answer_id = (SELECT MIN(a.id) FROM post a WHERE a.question_id = post.id) "
                     "WHERE kind = 'question' AND id IN (" + ", ".join("?" * 30) + ")", ids[:30])
    await _assert_rollups_match_facts()
    assert await _facts() == await _expected()
    # Hidden in bulk, then a bulk delete, and ledger rows in and out in bulk.
    await db.execute("UPDATE post SET hidden = ? WHERE id IN (" + ", ".join("?" * 15) + ")", [True, *ids[20:35]])
    await db.execute("UPDATE post SET accepted_answer_id = NULL WHERE id IN (" + ", ".join("?" * 5) + ")", ids[25:30])
    await db.execute("DELETE FROM post WHERE kind = 'answer' AND question_id IN (" + ", ".join("?" * 5) + ")", ids[25:30])
    await db.execute("DELETE FROM post WHERE id IN (" + ", ".join("?" * 10) + ")", ids[50:60])
    events = ", ".join(["(?, ?, 'upvoted', ?, NULL, ?, ?)"] * 40)
    values = []
    for n in range(40):
        when = T0 - timedelta(days=n % 4 * 20)
        values += [(ann if n % 2 else ben).id, 10 if n % 5 else -2, f"bulk:{n}", when, when.date()]
    await db.execute(f"INSERT INTO reputation_event (user_id, amount, reason, ref, post_id, created_at, day) VALUES {events}", values)
    await db.execute("DELETE FROM reputation_event WHERE ref IN ('bulk:1', 'bulk:2', 'bulk:3')", [])
    await _assert_rollups_match_facts()
    assert await _facts() == await _expected()
