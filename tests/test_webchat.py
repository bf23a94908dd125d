"""The web chat in a real browser: Debian's Chromium driven headless by Playwright, against the app under uvicorn.
It answers an exposure question, offers Approve only to a user who may approve, and turns a clarifying question into
buttons that answer it (on SQLite and PostgreSQL)."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator

import pytest

from assistant.service import AssistantService
from core.settings import get_settings
from integrations.api.app import create_app
from tests.support.clarifying import two_close_readings
from tests.support.servers import ServerThread
from tests.support.surfaces import executed_events, issue_keys, manager_sized_limit

CHROMIUM = os.environ.get("CREDITDESK_CHROMIUM", "/usr/bin/chromium")
TIMEOUT_MS = 20_000
FAKETIME_VARIABLES = ("LD_PRELOAD", "FAKETIME", "FAKETIME_DONT_FAKE_MONOTONIC", "NO_FAKE_STAT")

pytestmark = pytest.mark.browser


@pytest.fixture
def browser() -> Iterator[object]:
    if not shutil.which(CHROMIUM) and not os.path.exists(CHROMIUM):
        pytest.fail(f"Chromium not found at {CHROMIUM}: `apt-get install -y chromium` (make install does it)")
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=TIMEOUT_MS)  # assertions wait as long as actions do (a loaded 2-core CI machine)

    # The browser is the user's machine, not the product: under `make test-faketime` it and Playwright's driver run
    # on the real clock (libfaketime preloaded into Chromium stalls its page loads).
    faked = {key: os.environ.pop(key) for key in FAKETIME_VARIABLES if key in os.environ}
    try:
        with sync_playwright() as playwright:
            chromium = playwright.chromium.launch(
                executable_path=CHROMIUM, headless=True, args=["--no-sandbox", "--disable-dev-shm-usage"]
            )
            yield chromium
            chromium.close()
    finally:
        os.environ.update(faked)


@pytest.fixture
def server(seeded_db_url: str) -> Iterator[ServerThread]:
    settings = get_settings().model_copy(update={"web_demo_users": True})
    app = create_app(
        settings=settings,
        database_url=seeded_db_url,
        service=AssistantService(database_url=seeded_db_url, engine="planner"),
        bind_host="127.0.0.1",
    )
    with ServerThread(app) as running:
        yield running


def test_web_chat_answers_and_offers_approve_only_to_permitted_users(
    browser: object, server: ServerThread, seeded_db_url: str
) -> None:
    from playwright.sync_api import Browser, expect

    assert isinstance(browser, Browser)
    keys = issue_keys(seeded_db_url, ("avery",))

    # avery (credit analyst) signs in with an API key, asks about exposure, then proposes a limit change
    analyst = browser.new_page()
    analyst.set_default_timeout(TIMEOUT_MS)
    analyst.goto(server.url + "/")
    analyst.fill("#key-input", keys["avery"])
    analyst.click("#login-key")
    expect(analyst.locator("#who")).to_have_text("avery (credit analyst)")
    analyst.fill("#message", "What is the exposure of Acme?")
    analyst.click("#send")
    answer = analyst.locator(".msg.assistant").last
    expect(answer).to_contain_text("Acme Corporation")
    expect(answer).to_contain_text("Total exposure")
    expect(answer.locator("strong").first).to_be_visible()

    analyst.fill("#message", "show my worklist")  # a table renders as a table
    analyst.click("#send")
    expect(analyst.locator(".msg.assistant").last.locator("table th").first).to_be_visible()

    new_limit = manager_sized_limit(seeded_db_url, "Stark")
    analyst.fill("#message", f"propose a credit limit of {new_limit} for Stark because of seasonal orders")
    analyst.click("#send")
    proposal = analyst.locator(".msg.assistant").last.locator(".proposal")
    expect(proposal).to_contain_text("Proposal #")
    expect(proposal).to_contain_text("Waiting for credit manager approval")
    expect(proposal.locator("button.approve")).to_have_count(0)  # the proposer may not approve it
    proposal_id = int(proposal.get_attribute("data-id") or 0)

    # morgan (credit manager) signs in through the demo login and sees Approve in the pending list
    manager = browser.new_page()
    manager.set_default_timeout(TIMEOUT_MS)
    manager.goto(server.url + "/chat")
    expect(manager.locator("#demo-form")).to_be_visible()
    manager.select_option("#demo-user", "morgan")
    manager.click("#login-demo")
    expect(manager.locator("#who")).to_have_text("morgan (credit manager)")
    manager.click("#refresh-approvals")
    pending = manager.locator(f"#approval-list .proposal[data-id='{proposal_id}']")
    expect(pending.locator("button.approve")).to_be_visible()
    expect(pending.locator("button.reject")).to_be_visible()
    pending.locator("button.approve").click()
    expect(pending.locator(".result")).to_contain_text(f"proposal #{proposal_id} approved by morgan and executed")
    expect(pending.locator(".status")).to_have_text("approved")
    assert executed_events(seeded_db_url, proposal_id) == 1

    analyst.close()
    manager.close()


def test_web_chat_clarifying_question_buttons_send_the_number(
    browser: object, server: ServerThread, seeded_db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from playwright.sync_api import Browser, expect

    assert isinstance(browser, Browser)
    two_close_readings(monkeypatch)  # the server runs in this process (a uvicorn thread): the planner asks which
    keys = issue_keys(seeded_db_url, ("avery",))
    page = browser.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    page.goto(server.url + "/")
    page.fill("#key-input", keys["avery"])
    page.click("#login-key")
    expect(page.locator("#who")).to_have_text("avery (credit analyst)")

    with page.expect_response(lambda r: r.url.endswith("/v1/chat")) as asked:
        page.fill("#message", "acme please")
        page.click("#send")
    conversation = asked.value.json()["conversation_id"]
    assert [c["number"] for c in asked.value.json()["choices"]] == [1, 2]
    question = page.locator(".msg.assistant").nth(0)  # locators are lazy: `.last` would follow the newest reply
    expect(question).to_contain_text("Which do you mean?")
    buttons = question.locator(".choices button.choice")
    expect(buttons).to_have_count(2)
    expect(buttons.nth(0)).to_have_attribute("data-number", "1")
    expect(buttons.nth(1)).to_contain_text("2. a customer's credit score")

    with page.expect_request(lambda r: r.url.endswith("/v1/chat")) as picked:
        buttons.nth(1).click()
    assert json.loads(picked.value.post_data or "{}") == {"message": "2", "conversation_id": conversation}
    expect(page.locator(".msg.assistant")).to_have_count(2)
    answer = page.locator(".msg.assistant").last
    expect(answer).to_contain_text("Acme Corporation")
    expect(answer).to_contain_text("risk class")  # the score reading of the same message
    expect(answer.locator(".choices")).to_have_count(0)
    expect(page.locator(".msg.user").last).to_contain_text("2. a customer's credit score")
    expect(buttons.nth(1)).to_have_class("choice chosen")
    expect(buttons.nth(0)).to_be_disabled()  # answered: the question can't be answered twice
    expect(buttons.nth(1)).to_be_disabled()

    page.close()
