"""Settings: defaults, parsing, and one clear line for every kind of bad configuration."""

import subprocess
import sys
from pathlib import Path

import pytest

from bot.config import ConfigError, load_settings

TOKEN = "123456:ABCdefGhIJKlmnoPQRstuVWXyz012345678"
GOOD_KEY = "PROD" + "a1B2c3D4e5F6g7H8i9J0k1L2m3N4"


def test_defaults_are_the_documented_ones() -> None:
    settings = load_settings(telegram_bot_token=TOKEN)
    assert settings.complaint_backend == "local"
    assert settings.telegram_api_base_url == "https://api.telegram.org/bot"
    assert settings.database_path == Path("data/complaints.sqlite3")
    assert list(settings.complaint_categories) == [
        "product-related",
        "delivery",
        "payment",
        "other",
    ]
    assert settings.conversation_timeout_minutes == 15
    assert settings.submit_retry_base_seconds == 30
    assert settings.order_id_regex.fullmatch("748596")


def test_settings_come_from_the_environment_and_dotenv(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    (tmp_path / ".env").write_text(
        f"TELEGRAM_BOT_TOKEN={TOKEN}\nCOMPLAINT_CATEGORIES=late=Arrived late,broken=Broken\n"
    )
    monkeypatch.setenv("CONVERSATION_TIMEOUT_MINUTES", "2.5")
    settings = load_settings()
    assert settings.telegram_bot_token is not None
    assert settings.telegram_bot_token.get_secret_value() == TOKEN
    assert settings.complaint_categories == {"late": "Arrived late", "broken": "Broken"}
    assert settings.conversation_timeout_seconds == 150


def test_the_evidence_steps_default_as_documented() -> None:
    settings = load_settings(telegram_bot_token=TOKEN)
    assert settings.ask_photos == "optional"
    assert settings.photo_category_codes == {"product-related"}
    assert settings.complaint_resolutions == {
        "refund": "Refund",
        "replacement": "Replacement",
        "repair": "Repair",
        "none": "No preference",
    }
    assert settings.ask_contact == "off"
    assert settings.media_base_url is None and settings.media_link_days == 30


def test_an_empty_complaint_resolutions_leaves_the_step_out(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("COMPLAINT_RESOLUTIONS", "")
    assert load_settings(telegram_bot_token=TOKEN).complaint_resolutions == {}


def test_ask_photos_off_asks_for_photos_in_no_category(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ASK_PHOTOS", "off")
    monkeypatch.setenv("PHOTO_CATEGORIES", "delivery,other")
    assert load_settings(telegram_bot_token=TOKEN).photo_category_codes == set()
    monkeypatch.setenv("ASK_PHOTOS", "required")
    assert load_settings(telegram_bot_token=TOKEN).photo_category_codes == {"delivery", "other"}


def test_media_links_are_signed_with_the_deep_link_secret_unless_they_have_their_own(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("MEDIA_BASE_URL", "https://bot.example.com")
    monkeypatch.setenv("DEEP_LINK_SECRET", "deep-link-secret-0123")
    assert load_settings(telegram_bot_token=TOKEN).media_secret == "deep-link-secret-0123"
    monkeypatch.setenv("MEDIA_LINK_SECRET", "media-link-secret-0123")
    assert load_settings(telegram_bot_token=TOKEN).media_secret == "media-link-secret-0123"


def test_what_is_claimed_is_asked_only_when_turned_on() -> None:
    settings = load_settings(telegram_bot_token=TOKEN)
    assert (settings.ask_items, settings.ask_amount, settings.ask_refund_account) == ("off",) * 3
    assert settings.refund_resolutions == ["refund"]
    assert settings.claim_currency is None and settings.refund_country is None
    assert settings.complaint_due_days is None and settings.bizkithub_withdrawn_status is None
    assert settings.occ_refund_type == "externalRefund"


def test_currency_and_country_codes_are_read_in_any_case() -> None:
    settings = load_settings(
        telegram_bot_token=TOKEN, ask_amount="required", claim_currency="czk", refund_country="cz"
    )
    assert (settings.claim_currency, settings.refund_country) == ("CZK", "CZ")


def test_categories_also_read_as_json() -> None:
    settings = load_settings(complaint_categories='{"a": "Label, with comma"}')
    assert settings.complaint_categories == {"a": "Label, with comma"}


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"COMPLAINT_BACKEND": "carrier-pigeon"}, "COMPLAINT_BACKEND"),
        ({"ORDER_ID_PATTERN": "([unclosed"}, "ORDER_ID_PATTERN"),
        ({"CONVERSATION_TIMEOUT_MINUTES": "soon"}, "CONVERSATION_TIMEOUT_MINUTES"),
        ({"CONVERSATION_TIMEOUT_MINUTES": "0"}, "CONVERSATION_TIMEOUT_MINUTES"),
        ({"SUBMIT_RETRY_BASE_SECONDS": "-1"}, "SUBMIT_RETRY_BASE_SECONDS"),
        ({"LOG_FORMAT": "xml"}, "LOG_FORMAT"),
        ({"COMPLAINT_CATEGORIES": "Bad Code=Label"}, "COMPLAINT_CATEGORIES"),
        ({"COMPLAINT_CATEGORIES": "nolabel"}, "COMPLAINT_CATEGORIES"),
        ({"TELEGRAM_API_BASE_URL": "ftp://example"}, "TELEGRAM_API_BASE_URL"),
        ({"COMPLAINT_BACKEND": "middleware"}, "MIDDLEWARE_BASE_URL"),
        (
            {"COMPLAINT_BACKEND": "middleware", "MIDDLEWARE_BASE_URL": "https://mw.example"},
            "MIDDLEWARE_TOKEN",
        ),
        ({"COMPLAINT_BACKEND": "occ"}, "OCC_BASE_URL"),
        ({"COMPLAINT_BACKEND": "occ", "OCC_BASE_URL": "https://occ.example"}, "OCC_USERNAME"),
        (
            {
                "COMPLAINT_BACKEND": "occ",
                "OCC_BASE_URL": "https://occ.example",
                "OCC_USERNAME": "agent",
                "OCC_PASSWORD": "pw",
                "OCC_REASONS": "delivery=orderArrivedLate",
            },
            "OCC_REASONS",
        ),
        ({"COMPLAINT_BACKEND": "bizkithub"}, "BIZKITHUB_API_KEY"),
        ({"COMPLAINT_BACKEND": "bizkithub", "BIZKITHUB_API_KEY": "PRODshort"}, "BIZKITHUB_API_KEY"),
        (
            {
                "COMPLAINT_BACKEND": "bizkithub",
                "BIZKITHUB_API_KEY": GOOD_KEY,
                "BIZKITHUB_VARIANTS": "unknown=reklamace",
            },
            "BIZKITHUB_VARIANTS",
        ),
        ({"PHOTO_CATEGORIES": "product-related,damaged"}, "PHOTO_CATEGORIES"),
        ({"ASK_PHOTOS": "sometimes"}, "ASK_PHOTOS"),
        ({"ASK_CONTACT": "yes"}, "ASK_CONTACT"),
        ({"COMPLAINT_RESOLUTIONS": "Money Back=Refund"}, "COMPLAINT_RESOLUTIONS"),
        ({"MEDIA_BASE_URL": "http://bot.example.com"}, "MEDIA_BASE_URL"),
        ({"MEDIA_BASE_URL": "https://bot.example.com"}, "MEDIA_LINK_SECRET"),
        (
            {"MEDIA_BASE_URL": "https://bot.example.com", "MEDIA_LINK_SECRET": "short"},
            "MEDIA_LINK_SECRET",
        ),
        ({"MEDIA_LINK_DAYS": "0"}, "MEDIA_LINK_DAYS"),
        ({"OPERATOR_HOURS": "Mon-Fri 09:00-17:00 Europe/Nowhere"}, "OPERATOR_HOURS"),
        ({"OPERATOR_HOURS": "Mo-Fr 09:00-17:00 Europe/Prague"}, "OPERATOR_HOURS"),
        ({"OPERATOR_HOURS": "Mon-Fri 09:00-17:00"}, "OPERATOR_HOURS"),
        ({"OPERATOR_HOURS": "weekdays Europe/Prague"}, "OPERATOR_HOURS"),
        (
            {
                "COMPLAINT_BACKEND": "bizkithub",
                "BIZKITHUB_API_KEY": GOOD_KEY,
                "BIZKITHUB_RESOLUTIONS": "refund=refund,replacement=exchange",
            },
            "BIZKITHUB_RESOLUTIONS",
        ),
        ({"ASK_ITEMS": "always"}, "ASK_ITEMS"),
        ({"ASK_AMOUNT": "optional"}, "CLAIM_CURRENCY"),
        ({"ASK_AMOUNT": "optional", "CLAIM_CURRENCY": "KCS"}, "CLAIM_CURRENCY"),
        ({"CLAIM_CURRENCY": "crowns"}, "CLAIM_CURRENCY"),
        ({"REFUND_COUNTRY": "CZE"}, "REFUND_COUNTRY"),
        ({"REFUND_COUNTRY": "XX"}, "REFUND_COUNTRY"),
        ({"COMPLAINT_DUE_DAYS": "0"}, "COMPLAINT_DUE_DAYS"),
        ({"ASK_REFUND_ACCOUNT": "required", "REFUND_RESOLUTIONS": "money"}, "REFUND_RESOLUTIONS"),
        (
            {"ASK_REFUND_ACCOUNT": "optional", "COMPLAINT_RESOLUTIONS": "repair=Repair"},
            "REFUND_RESOLUTIONS",
        ),
        ({"BIZKITHUB_WITHDRAWN_STATUS": "gone"}, "BIZKITHUB_WITHDRAWN_STATUS"),
        ({"BOT_MODE": "webhook"}, "WEBHOOK_URL"),
        (
            {
                "BOT_MODE": "webhook",
                "WEBHOOK_URL": "https://bot.example/hook",
                "WEBHOOK_SECRET": "short",
            },
            "WEBHOOK_SECRET",
        ),
    ],
)
def test_bad_settings_name_the_setting_in_one_line(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], named: str
) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError) as caught:
        load_settings(telegram_bot_token=TOKEN)
    message = str(caught.value)
    names, _, _ = message.partition(": ")  # one setting, or every missing one, then the why
    assert named in names
    assert "\n" not in message


def test_operator_hours_are_read_at_start_and_unset_means_always_open(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert load_settings(telegram_bot_token=TOKEN).operator_hours is None
    assert load_settings(telegram_bot_token=TOKEN).working_hours.always_open
    monkeypatch.setenv("OPERATOR_HOURS", "")
    assert load_settings(telegram_bot_token=TOKEN).working_hours.always_open
    monkeypatch.setenv("OPERATOR_HOURS", "Mon-Fri 09:00-17:00, Sat 10:00-12:00 Europe/Prague")
    hours = load_settings(telegram_bot_token=TOKEN).working_hours
    assert hours.zone.key == "Europe/Prague"
    assert not hours.always_open and len(hours.spans) == 6
    with pytest.raises(ConfigError, match=r"^OPERATOR_HOURS: unknown time zone 'Mars/Olympus'"):
        load_settings(telegram_bot_token=TOKEN, operator_hours="Mon 09:00-17:00 Mars/Olympus")


def test_a_bad_key_is_never_printed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COMPLAINT_BACKEND", "bizkithub")
    monkeypatch.setenv("BIZKITHUB_API_KEY", "PROD-this-is-secret-but-malformed")
    with pytest.raises(ConfigError) as caught:
        load_settings(telegram_bot_token=TOKEN)
    assert "this-is-secret" not in str(caught.value)


def _run_bot(env: dict[str, str], tmp_path: Path) -> subprocess.CompletedProcess[str]:
    clean = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), **env}
    return subprocess.run(
        [sys.executable, "-m", "bot"],
        capture_output=True,
        text=True,
        env=clean,
        cwd=tmp_path,
        timeout=60,
        check=False,
    )


def test_python_m_bot_with_bad_settings_prints_one_line_and_exits_2(tmp_path: Path) -> None:
    result = _run_bot({"TELEGRAM_BOT_TOKEN": TOKEN, "COMPLAINT_BACKEND": "fax"}, tmp_path)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "COMPLAINT_BACKEND" in lines[0]
    assert "Traceback" not in result.stderr


def test_python_m_bot_without_a_token_says_what_to_set(tmp_path: Path) -> None:
    result = _run_bot({}, tmp_path)
    assert result.returncode == 2
    assert "TELEGRAM_BOT_TOKEN" in result.stderr and "@BotFather" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("env", "line"),
    [
        (
            {"COMPLAINT_BACKEND": "occ"},
            "OCC_BASE_URL, OCC_USERNAME, OCC_PASSWORD: are required when COMPLAINT_BACKEND=occ",
        ),
        (
            {"COMPLAINT_BACKEND": "occ", "OCC_USERNAME": "agent"},
            "OCC_BASE_URL, OCC_PASSWORD: are required when COMPLAINT_BACKEND=occ",
        ),
        (
            {"COMPLAINT_BACKEND": "middleware"},
            "MIDDLEWARE_BASE_URL, MIDDLEWARE_TOKEN (or MIDDLEWARE_USERNAME and "
            "MIDDLEWARE_PASSWORD): are required when COMPLAINT_BACKEND=middleware",
        ),
    ],
)
def test_every_missing_setting_of_a_backend_is_named_at_once(
    env: dict[str, str], line: str
) -> None:
    with pytest.raises(ConfigError) as raised:
        load_settings(**{name.lower(): value for name, value in env.items()})
    assert str(raised.value) == line


def test_a_webhook_url_must_be_https() -> None:
    with pytest.raises(ConfigError) as raised:
        load_settings(
            bot_mode="webhook",
            webhook_url="http://bot.example.com/hook",
            webhook_secret="s" * 40,
        )
    assert str(raised.value).startswith("WEBHOOK_URL: must be an https:// URL")


def test_choices_are_read_whatever_their_case(monkeypatch: pytest.MonkeyPatch) -> None:
    """`ASK_PHOTOS=Optional` in an .env means optional (a choice is a word, not a spelling)."""
    for name, typed, read in [
        ("ASK_PHOTOS", "Optional", "optional"),
        ("ASK_CONTACT", "REQUIRED ", "required"),
        ("BOT_MODE", "Polling", "polling"),
        ("COMPLAINT_BACKEND", "Local", "local"),
        ("LOG_FORMAT", "JSON", "json"),
        ("LOG_LEVEL", "warning", "WARNING"),
    ]:
        monkeypatch.setenv(name, typed)
        assert getattr(load_settings(telegram_bot_token=TOKEN), name.lower()) == read
    monkeypatch.setenv("ASK_PHOTOS", "sometimes")
    with pytest.raises(ConfigError, match=r"^ASK_PHOTOS: input should be 'off', 'optional' or"):
        load_settings(telegram_bot_token=TOKEN)
