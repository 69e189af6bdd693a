"""The dashboard in a real headless Chromium: each role logs in with its key, sees its data,
is refused the rest; CSRF refusals, logout, a revoked key; screenshots in test-artifacts/web/.

The figures are those computed by hand in tests/web/conftest.py.
"""

from __future__ import annotations

from caspr.store import keys as key_store
from caspr.store import make_engine, sessions, transaction
from caspr.store import models as m
from tests.web.conftest import shot


def by_css(driver, selector):
    from selenium.webdriver.common.by import By

    return driver.find_elements(By.CSS_SELECTOR, selector)


def text_of(driver, selector) -> str:
    found = by_css(driver, selector)
    assert found, f"nothing matches {selector} on {driver.current_url}"
    return found[0].text


def login(driver, base, key, lang="en", page="/web/"):
    """Log in by keyboard only: the key field has focus; type the key, press Enter."""
    from selenium.webdriver.common.keys import Keys

    driver.get(f"{base}/web/login?lang={lang}&next={page}")
    assert driver.switch_to.active_element.get_attribute("id") == "key"  # autofocus: keyboard first
    driver.switch_to.active_element.send_keys(key + Keys.ENTER)
    wait_until(driver, lambda d: "/web/login" not in d.current_url)


def wait_until(driver, condition, seconds=20):
    from selenium.webdriver.support.ui import WebDriverWait

    WebDriverWait(driver, seconds).until(condition)


def accessible(driver) -> None:
    """A language on <html>, a label for every field, a scope on every header cell; no CSP refusal."""
    assert driver.find_element("css selector", "html").get_attribute("lang") in ("en", "ja")
    for field in by_css(driver, "input:not([type=hidden]), textarea"):
        ident = field.get_attribute("id")
        assert ident and by_css(driver, f"label[for='{ident}']"), f"field without a label on {driver.current_url}"
    for cell in by_css(driver, "th"):
        assert cell.get_attribute("scope") in ("col", "row"), f"<th> without scope on {driver.current_url}"
    refused = [e["message"] for e in driver.get_log("browser") if "Content Security Policy" in e["message"]]
    assert not refused, refused


def cells(driver, row_selector, figure) -> list[str]:
    return [c.text for c in by_css(driver, f"{row_selector} [data-figure='{figure}']")]


def test_an_exchange_sees_its_coverage_over_time_and_findings_and_not_another_exchange(chromium, site):
    base, keys, _, _ = site
    driver = chromium
    login(driver, base, keys["exchange"])
    assert driver.current_url == f"{base}/web/exchanges/tiny-jp"
    rows = "#coverage tr[data-regime='jp-crypto-reserve']"
    assert cells(driver, rows, "coverage") == ["2.98%", "5.98%"]  # September, then October
    assert [c.text for c in by_css(driver, f"{rows} td.num .amount")][:2] == ["50,000,000 JPY", "1,490,000 JPY"]
    assert by_css(driver, "svg.chart polyline")  # the chart over time
    finding = by_css(driver, "#findings tr[data-rule='jp.reserve.funding']")
    assert finding and finding[0].get_attribute("data-severity") == "projection"
    accessible(driver)
    shot(driver, "exchange-coverage")
    driver.get(f"{base}/web/exchanges/other-ex")
    assert text_of(driver, "[data-status]") and by_css(driver, "[data-status='404']")
    assert "Other exchange" not in driver.page_source
    driver.get(f"{base}/web/exchanges/tiny-jp/distributions")  # its own runs: allowed
    assert by_css(driver, "section.run")
    by_css(driver, "form.logout button")[0].click()
    wait_until(driver, lambda d: "/web/login" in d.current_url)
    driver.get(f"{base}/web/exchanges/tiny-jp")
    assert "/web/login" in driver.current_url  # logged out: the session is gone
    assert not by_css(driver, "#coverage")


def test_the_regulator_sorts_the_market_and_applies_a_reform_side_by_side(chromium, site):
    base, keys, _, _ = site
    driver = chromium
    login(driver, base, keys["regulator"])
    assert driver.current_url == f"{base}/web/market"
    reserve = "#market tr[data-regime='jp-crypto-reserve']"
    exchanges = [r.get_attribute("data-exchange") for r in by_css(driver, reserve)]
    assert exchanges == ["other-ex", "tiny-jp"]
    assert cells(driver, reserve, "coverage") == ["2.98%", "5.98%"]  # tiny-jp's latest is October
    by_css(driver, "a[data-sort='coverage']")[0].click()  # ascending
    by_css(driver, "a[data-sort='coverage']")[0].click()  # descending
    wait_until(driver, lambda d: "order=desc" in d.current_url)
    assert by_css(driver, "th[aria-sort='descending'] a[data-sort='coverage']")
    assert cells(driver, reserve, "coverage") == ["5.98%", "2.98%"]
    assert cells(driver, "#market tr[data-regime]", "coverage")[-2:] == ["—", "—"]  # jp-custody: none, last
    # Floor ¥1,000,000: required ¥1,000,000 (above the 492,503.9 computed); insurance capped at
    # 0.5 × 1,000,000 = 500,000: tiny-jp 2,000,000 + 500,000 = 250%; other-ex 500,000 + 500,000 = 100%.
    box = by_css(driver, "#reform")[0]
    box.clear()
    box.send_keys('jp-crypto-reserve:\n  floor: "1000000"\n')
    by_css(driver, "#apply-reform")[0].click()
    wait_until(driver, lambda d: by_css(d, "[data-figure='reform-coverage']"))
    assert [r.get_attribute("data-exchange") for r in by_css(driver, reserve)] == ["other-ex", "tiny-jp"]
    assert cells(driver, reserve, "reform-requirement") == ["1,000,000 JPY", "1,000,000 JPY"]
    assert cells(driver, reserve, "reform-funding") == ["1,000,000 JPY", "2,500,000 JPY"]
    assert cells(driver, reserve, "reform-coverage") == ["100%", "250%"]
    assert cells(driver, reserve, "requirement") == ["50,000,000 JPY", "50,000,000 JPY"]  # stored, beside it
    accessible(driver)
    shot(driver, "market-reform")
    box = by_css(driver, "#reform")[0]
    box.clear()
    box.send_keys("jp-crypto-reserve:\n  floor: lots\n")
    by_css(driver, "#apply-reform")[0].click()
    wait_until(driver, lambda d: by_css(d, "#reform-error"))
    assert "floor" in text_of(driver, "#reform-error")
    by_css(driver, "#clear-reform")[0].click()
    wait_until(driver, lambda d: not by_css(d, "[data-figure='reform-coverage']"))


def test_the_administrator_follows_the_distribution_by_round_and_asset(chromium, site):
    base, keys, _, data = site
    driver = chromium
    login(driver, base, keys["administrator"], lang="ja")
    assert driver.current_url == f"{base}/web/exchanges/tiny-jp/distributions"
    run = f"section.run[data-job='{data['job']}']"
    assert by_css(driver, run)[0].get_attribute("data-status") == "done"
    assert text_of(driver, f"{run} [data-figure='progress']") == "4 / 4"
    planned = {
        r.get_attribute("data-asset"): r.find_element("css selector", "[data-figure='planned']").text
        for r in by_css(driver, f"{run} table.rounds tr[data-round='in_kind']")
    }
    assert planned == {"BTC": "1.75000001 BTC", "ETH": "10 ETH", "JPY": "100,000円"}
    assert cells(driver, f"{run} table.rounds tr", "recorded") == ["1.75000001 BTC", "10 ETH", "100,000円"]
    assert text_of(driver, "h1").startswith("配当の進捗")
    accessible(driver)
    shot(driver, "administrator-distribution-ja")
    driver.get(f"{base}/web/exchanges/other-ex/distributions")
    assert by_css(driver, "[data-status='404']")


def test_a_customer_sees_their_own_claim_and_payouts_and_no_one_elses(chromium, site):
    base, keys, _, data = site
    driver = chromium
    login(driver, base, keys["A1"], lang="ja")
    assert driver.current_url == f"{base}/web/me"
    assert text_of(driver, "h1") == "あなたの債権と支払"
    claim = {
        r.get_attribute("data-asset"): r.find_element("css selector", "[data-figure='claim']").text
        for r in by_css(driver, "table.claim-table tr[data-asset]")
    }
    assert claim == {"BTC": "1.5 BTC", "JPY": "100,000円"}
    assert sorted(cells(driver, "#payouts tr", "amount")) == ["1.5 BTC", "100,000円"]
    assert "0.25000001" not in driver.page_source and "A2" not in driver.page_source
    assert by_css(driver, "#proof-link")[0].get_attribute("href") == f"{base}/proof"
    accessible(driver)
    shot(driver, "customer-ja")
    own = data["payouts"]["A1"][0]["payout_id"]
    driver.get(f"{base}/web/payouts/{own}")
    assert text_of(driver, "[data-figure='account']") == "A1"
    other = data["payouts"]["A2"][0]["payout_id"]
    driver.get(f"{base}/web/payouts/{other}")
    assert by_css(driver, "[data-status='404']")
    assert "A2" not in driver.page_source
    driver.get(f"{base}/web/exchanges/tiny-jp")
    assert by_css(driver, "[data-status='404']")
    driver.get(f"{base}/web/market")
    assert by_css(driver, "[data-status='404']")


def test_forms_with_a_wrong_csrf_token_are_refused(chromium, site):
    base, keys, _, _ = site
    driver = chromium
    driver.get(f"{base}/web/login?lang=en")
    driver.execute_script("document.querySelector('input[name=csrf]').value = 'forged'")
    by_css(driver, "#key")[0].send_keys(keys["exchange"])
    by_css(driver, "#login")[0].click()
    wait_until(driver, lambda d: by_css(d, "[data-status]"))
    assert by_css(driver, "[data-status='403']")
    shot(driver, "csrf-refused")
    driver.get(f"{base}/web/exchanges/tiny-jp")
    assert "/web/login" in driver.current_url  # the forged login opened no session
    login(driver, base, keys["exchange"])
    driver.execute_script("document.querySelector('form.logout input[name=csrf]').value = 'forged'")
    by_css(driver, "form.logout button")[0].click()
    wait_until(driver, lambda d: by_css(d, "[data-status]"))
    assert by_css(driver, "[data-status='403']")
    driver.get(f"{base}/web/exchanges/tiny-jp")
    assert by_css(driver, "#coverage")  # the forged logout did not end the session


def test_revoking_the_key_ends_its_session(chromium, site):
    base, _, url, _ = site
    driver = chromium
    engine = make_engine(url)
    with transaction(sessions(engine)) as session:
        grant = key_store.grant(session, "test", "customer", "tiny-jp", "A2")
    login(driver, base, grant.key)
    assert by_css(driver, "table.claim-table")
    with transaction(sessions(engine)) as session:
        key_store.revoke(session, "test", grant.id)
        assert session.get(m.ApiKey, grant.id).revoked_at is not None
    engine.dispose()
    driver.get(f"{base}/web/me")
    assert "/web/login" in driver.current_url
    assert not by_css(driver, "table.claim-table")
