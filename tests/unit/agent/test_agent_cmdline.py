import pytest

from teeth_agent.cmdline import CmdlineError, parse_cmdline, split_words


def test_endpoints_repeat_and_split_on_commas_in_order() -> None:
    opts = parse_cmdline(
        "BOOT_IMAGE=/vmlinuz root=/dev/ram0 teeth.endpoint=tcp://10.0.0.1:9999,tls://h:1 quiet "
        "teeth.endpoint=unix:///run/e.sock"
    )
    assert opts.endpoints == ("tcp://10.0.0.1:9999", "tls://h:1", "unix:///run/e.sock")


def test_other_teeth_options_last_wins_and_bare_flag_is_one() -> None:
    opts = parse_cmdline("teeth.log_level=info teeth.debug teeth.log_level=debug console=ttyS0")
    assert opts.options == {"log_level": "debug", "debug": "1"}
    assert opts.get("agent_id") is None


def test_words_after_double_dash_belong_to_init() -> None:
    assert parse_cmdline("quiet -- teeth.endpoint=tcp://x:1").endpoints == ()


def test_double_quotes_group_words() -> None:
    assert split_words('a "b c" d="e f"\n') == ["a", "b c", "d=e f"]
    assert parse_cmdline('teeth.agent_id="rack 4 slot 2"').options["agent_id"] == "rack 4 slot 2"


@pytest.mark.parametrize(
    ("text", "needle"),
    [("teeth.endpoint=", "needs a URL"), ("teeth.=x", "no option name"), ('a "b', "unterminated")],
)
def test_bad_cmdline_names_the_problem(text: str, needle: str) -> None:
    with pytest.raises(CmdlineError, match=needle):
        parse_cmdline(text)
