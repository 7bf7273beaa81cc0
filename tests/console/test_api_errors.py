"""The API's refusals are said in the console reader's language: every code the API can
refuse with has a Vietnamese sentence, or is one a person never meets and shown as it is."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from app.console.api_errors import (
    FIELD_NAMES,
    FOR_PROGRAMS,
    INVALID_FIELD,
    MESSAGES,
    UPLOAD_CODES,
    USERNAME_CHARACTERS,
    explain,
    sentences,
)
from app.console.i18n import i18n
from app.console.pages.ward import typed_coordinates
from app.error_codes import CODES
from app.errors import Conflict, NotFound, Unprocessable
from tests.console.conftest import make_person
from tests.console.test_role_pages import as_person, register, rows


def test_every_code_has_a_sentence_or_is_shown_as_it_is() -> None:
    assert set(MESSAGES) | FOR_PROGRAMS == set(CODES), set(CODES) ^ (set(MESSAGES) | FOR_PROGRAMS)
    assert not set(MESSAGES) & FOR_PROGRAMS
    assert set(UPLOAD_CODES) <= set(MESSAGES)


def test_every_sentence_is_in_vietnamese() -> None:
    vi = i18n("vi")
    assert [m for m in set(MESSAGES.values()) if vi.gettext(m) == m] == []
    said_of_fields = {*FIELD_NAMES.values(), *INVALID_FIELD.values(), USERNAME_CHARACTERS}
    assert [m for m in said_of_fields if vi.gettext(m) == m] == []


def test_vietnamese_gets_the_sentence_english_the_apis_words() -> None:
    refusal = Conflict("case number 'CA-7' exists", code="case_exists")
    assert explain(refusal, "vi") == "Đã có vụ việc mang số này."
    assert explain(refusal, "en") == "case number 'CA-7' exists"
    # a generic code has no sentence: its detail is all there is to say
    assert explain(NotFound("camera 9 not found"), "vi") == "camera 9 not found"
    assert sentences("en", UPLOAD_CODES) == {}
    assert sentences("vi", ("not_video", "not_found")) == {
        "not_video": "Tệp này không phải là video; chưa có gì được lưu."
    }
    assert explain(Unprocessable("x", code="no_such_code"), "vi") == "x"


def test_a_refusal_on_a_form_and_the_upload_forms_sentences(client: TestClient) -> None:
    """A ward opens the same case number twice (the API's 409) and reads why in Vietnamese;
    the upload form carries the upload refusals' sentences for its script."""
    ward = make_person(client, "ward")
    b, csrf = as_person(client, ward)
    cam = register(b, csrf, "Camera chợ Bến Thành", "10.7725", "106.6980")
    page = b.get(f"/ward/cameras/{cam}")
    assert "Tệp này không phải là video; chưa có gì được lưu." in page.text
    assert "Tệp bị cắt cụt; chưa có gì được lưu." in page.text
    english = b.get(f"/ward/cameras/{cam}", headers={"Accept-Language": "en"})
    assert "&#34;refusals&#34;: {}" in english.text or '"refusals": {}' in english.text
    inv = make_person(client, "investigator")
    i, csrf_i = as_person(client, inv)
    form = {"csrf_token": csrf_i, "number": "CA-2026-001", "title": "Trộm xe máy chợ Bến Thành"}
    first = i.post("/casework/cases", data=form, follow_redirects=False)
    assert first.status_code == 303, first.text
    again = i.post("/casework/cases", data=form, follow_redirects=False)
    assert again.status_code in (409, 422) and 'role="alert"' in again.text
    assert "Đã có vụ việc mang số này." in again.text
    assert "exists" not in again.text


def test_an_error_page_says_the_refusal_and_keeps_the_code_and_detail(client: TestClient) -> None:
    """The upload form posted without its script: the 415 page says why in Vietnamese and
    keeps the code and the API's words under "Details" for whoever helps the reader."""
    b, csrf = as_person(client, make_person(client, "ward"))
    cam = register(b, csrf, "Camera hẻm 42", "10.7741", "106.7003")
    r = b.post(f"/ward/cameras/{cam}/footage", data={"csrf_token": csrf})
    assert r.status_code == 415 and "<html" in r.text
    said = i18n("vi").gettext(MESSAGES["raw_body_required"])
    assert said in r.text and said != MESSAGES["raw_body_required"]
    assert "Chi tiết:" in r.text and "<code>raw_body_required</code>" in r.text
    assert "uploading from the console needs JavaScript" in r.text


def test_an_invalid_field_on_an_admin_form_is_said_by_its_label(client: TestClient) -> None:
    """Pydantic's own messages ("String should match pattern '^[A-Za-z0-9._@-]+$'") were shown
    on the admin pages; now the field's label and what is wrong, in the reader's language."""
    admin, csrf = as_person(client, make_person(client, "admin"))
    before = rows(client, "SELECT count(*) FROM user_account")[0][0]
    r = admin.post("/console/users", data={"csrf_token": csrf, "username": "Nguyễn Văn A",
                                           "full_name": "Nguyễn Văn A", "role": "officer"})
    assert r.status_code == 422 and 'role="alert"' in r.text
    assert ("Tên đăng nhập chỉ được gồm chữ cái không dấu, chữ số và các ký hiệu . _ @ -"
            in r.text)
    assert "should match pattern" not in r.text
    r = admin.post("/console/orgs", data={"csrf_token": csrf, "name": "  ", "kind": "ward"},
                   headers={"Accept-Language": "en"})
    assert r.status_code == 422 and "Name: fill this in." in r.text
    assert rows(client, "SELECT count(*) FROM user_account")[0][0] == before


def test_a_wards_camera_form_says_each_invalid_field_and_stores_nothing(
    client: TestClient,
) -> None:
    """The camera form showed pydantic's English beside its fields ("Input should be a valid
    number, unable to parse string as a number") and nothing at all for a select; each
    invalid field is now said by its label, beside it and at the top of the form."""
    ward, csrf = as_person(client, make_person(client, "ward"))
    form = {"csrf_token": csrf, "name": "Camera chợ", "address": "", "latitude": "mười",
            "longitude": "181", "timezone": "Asia/Ho_Chi_Minh", "retention_days": "0",
            "sharing_policy": "everyone"}
    r = ward.post("/ward/cameras/new", data=form)
    assert r.status_code == 422
    for said in ("Vĩ độ phải là một số.", "Kinh độ tối đa là 180.",
                 "Lưu video trong (ngày) tối thiểu là 1.",
                 "Chia sẻ: hãy chọn một trong các lựa chọn."):
        assert r.text.count(said) >= 1, said
    assert 'id="f-latitude-error"' in r.text and 'id="f-retention_days-error"' in r.text
    assert r.text.count('role="alert"') >= 4  # the summary at the top: one per field
    assert "Input should" not in r.text
    r = ward.post("/ward/cameras/new", data={**form, "latitude": "10.7", "longitude": "106.7",
                                             "retention_days": "9999", "sharing_policy":
                                             "owner_approval"},
                  headers={"Accept-Language": "en"})
    assert r.status_code == 422 and "Keep footage for (days) can be at most 3,650." in r.text
    r = ward.post("/ward/cameras/new", data={**form, "latitude": "10.7", "longitude": "106.7",
                                             "retention_days": "30", "sharing_policy":
                                             "owner_approval", "vendor": "hikvision", "host": ""})
    assert r.status_code == 422  # a make chosen, no address: fill it in (not "too short")
    assert "Địa chỉ (IP hoặc tên miền): hãy điền mục này." in r.text
    assert rows(client, "SELECT count(*) FROM camera")[0][0] == 0


@pytest.mark.parametrize(
    ("typed", "read"),
    [
        (("10,7725", "106,698"), ("10.7725", "106.698")),  # a Vietnamese decimal keypad
        (("-33,8688", "151,2093"), ("-33.8688", "151.2093")),
        (("10.7725, 106.698", ""), ("10.7725", "106.698")),  # a map application's copy
        (("10.7725;106.698", ""), ("10.7725", "106.698")),
        (("10.7725", "106.698"), ("10.7725", "106.698")),
        (("10,7725", ""), ("10.7725", "")),  # one number with a comma, not a pair
        (("10.7725, 106.698", "106.7"), ("10.7725, 106.698", "106.7")),  # both typed: as is
        (("1,234,5", "x"), ("1,234,5", "x")),  # nothing guessed: the form says what is wrong
    ],
)
def test_coordinates_are_read_as_people_type_them(
    typed: tuple[str, str], read: tuple[str, str]
) -> None:
    assert typed_coordinates(*typed) == read


def test_a_camera_placed_with_decimal_commas_is_stored_there(client: TestClient) -> None:
    ward, csrf = as_person(client, make_person(client, "ward"))
    r = ward.post("/ward/cameras/new", data={
        "csrf_token": csrf, "name": "Camera bến xe", "latitude": "10,7725",
        "longitude": "106,698", "timezone": "Asia/Ho_Chi_Minh", "retention_days": "30",
        "sharing_policy": "owner_approval"}, follow_redirects=False)
    assert r.status_code == 303, r.text
    assert rows(client, "SELECT latitude, longitude FROM camera") == [(10.7725, 106.698)]


def test_refusal_and_not_found_pages_say_which(client: TestClient) -> None:
    """Someone not on a case opens it: the 403 page said "your role does not give access",
    wrong for an investigator (the role does); it now says they are not on the case. A case
    that does not exist says so."""
    a, csrf = as_person(client, make_person(client, "investigator"))
    made = a.post("/casework/cases", data={"csrf_token": csrf, "number": "CA-2026-077",
                                           "title": "Cướp giật điện thoại"},
                  follow_redirects=False)
    assert made.status_code == 303, made.text
    case_url = made.headers["location"]
    b, _ = as_person(client, make_person(client, "investigator"))
    r = b.get(case_url)
    assert r.status_code == 403
    assert ("Bạn không tham gia vụ việc này. Việc từ chối đã được ghi vào nhật ký kiểm toán."
            in r.text)
    assert "<code>not_on_case</code>" in r.text
    r = b.get("/casework/cases/987654")
    assert r.status_code == 404 and "Không có vụ việc này." in r.text
