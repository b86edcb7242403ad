import datetime as dt

import jwt
import pytest
from showcase_common.tokens import InvalidToken, TokenExpired, issue_token, verify_token

SECRET = "s3cret-for-tests-only-0123456789abcdef"


def test_a_valid_token_names_its_user_and_requests() -> None:
    grant = verify_token(SECRET, issue_token(SECRET, "studio", ["r2", "r1"]))
    assert grant.user == "studio"
    assert grant.request_ids == {"r1", "r2"}
    assert grant.expires_at > dt.datetime.now(dt.UTC)


@pytest.mark.parametrize("token", [None, "", "not-a-jwt", "a.b.c"])
def test_missing_or_malformed_tokens_are_refused(token: str | None) -> None:
    with pytest.raises(InvalidToken):
        verify_token(SECRET, token)


def test_a_token_signed_with_another_secret_is_refused() -> None:
    with pytest.raises(InvalidToken):
        verify_token(SECRET, issue_token("another-secret-0123456789abcdef-xyz", "studio", ["r1"]))


def test_an_expired_token_is_refused() -> None:
    token = issue_token(SECRET, "studio", ["r1"], ttl=dt.timedelta(seconds=-1))
    with pytest.raises(InvalidToken, match="expired"):
        verify_token(SECRET, token)


def test_a_token_without_request_ids_is_refused() -> None:
    token = jwt.encode(
        {
            "sub": "studio",
            "aud": "progress",
            "exp": dt.datetime.now(dt.UTC) + dt.timedelta(minutes=1),
        },
        SECRET,
    )
    with pytest.raises(InvalidToken, match="names no requests"):
        verify_token(SECRET, token)


def test_an_expired_token_is_told_apart_from_a_forged_one() -> None:
    expired = issue_token(SECRET, "studio", ["r1"], ttl=dt.timedelta(seconds=-1))
    with pytest.raises(TokenExpired):
        verify_token(SECRET, expired)
    forged = issue_token("another-secret-of-at-least-32-bytes!", "studio", ["r1"])
    with pytest.raises(InvalidToken) as refused:
        verify_token(SECRET, forged)
    assert not isinstance(refused.value, TokenExpired)


@pytest.mark.parametrize("user", ["studio", "Zoë", 'quote"and\\slash'])
def test_a_token_is_the_one_pyjwt_writes_for_the_same_claims(user: str) -> None:
    now = dt.datetime(2026, 12, 3, 12, 0, 30, 999_999, tzinfo=dt.UTC)
    ttl = dt.timedelta(hours=2)
    claims = {"sub": user, "rids": ["a1", "b2"], "aud": "progress", "iat": now, "exp": now + ttl}
    expected = jwt.encode(claims, SECRET, algorithm="HS256")
    assert issue_token(SECRET, user, ["b2", "a1"], ttl=ttl, now=now) == expected
    # the prepared key of one secret never signs with another's
    assert issue_token("another-secret-0123456789abcdef-xyz", user, ["a1"], now=now) != (
        issue_token(SECRET, user, ["a1"], now=now)
    )
