"""A plain form parsed into the JSON API's input model (services/api/ui/forms.py ``parse``): the same
model as the JSON body of the same change, whatever way each kind of field is posted."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import BaseModel, ValidationError
from starlette.datastructures import FormData

from services.api import schemas
from services.api.errors import sentence
from services.api.ui.forms import parse

TOKEN = {"csrf_token": "t0ken", "host": "apihost"}


def _form(*pairs: tuple[str, str], **fields: str) -> FormData:
    return FormData([*pairs, *fields.items()])


def _problems(model: type[BaseModel], form: FormData) -> list[str]:
    with pytest.raises(ValidationError) as caught:
        parse(model, form)
    return [sentence(dict(e)) for e in caught.value.errors()]


# A form as the page posts it, and the JSON body that asks for the same change.
SAME: list[tuple[type[BaseModel], FormData, dict[str, Any]]] = [
    # The new-user form, every field filled; its groups typed in one field.
    (schemas.UserCreateIn,
     _form(login="zoe", full_name="Zoe Q", shell="/bin/sh", groups="users, audio\ndevs", password="pw",
           create_home="yes", **TOKEN),
     {"login": "zoe", "full_name": "Zoe Q", "shell": "/bin/sh", "groups": ["users", "audio", "devs"],
      "password": "pw"}),
    # Left blank: the host's default shell, no password; unticked: no home; no group typed.
    (schemas.UserCreateIn, _form(login="zoe", full_name="", shell="", groups="", password="", **TOKEN),
     {"login": "zoe", "create_home": False}),
    # The edit form sends every field: an emptied full name clears it, an empty list leaves all groups.
    (schemas.UserPatchIn, _form(full_name="", shell="/bin/sh", groups=" ", **TOKEN),
     {"full_name": "", "shell": "/bin/sh", "groups": []}),
    (schemas.PasswordIn, _form(password="", **TOKEN), {"password": ""}),
    (schemas.UserDeleteIn, _form(home="archive", **TOKEN), {"home": "archive"}),
    (schemas.TargetOnly, _form(**TOKEN), {}),
    (schemas.GroupCreateIn, _form(name="lab", gid="2001", **TOKEN), {"name": "lab", "gid": 2001}),
    (schemas.GroupCreateIn, _form(name="lab", gid="", **TOKEN), {"name": "lab"}),
    # Members ticked (checkboxes sharing a name), or typed in one field.
    (schemas.MembersIn, _form(("logins", "alice"), ("logins", "bob"), **TOKEN), {"logins": ["alice", "bob"]}),
    (schemas.MembersIn, _form(logins="alice bob,carol", **TOKEN), {"logins": ["alice", "bob", "carol"]}),
    # None ticked: an empty list, for the check to say so ("The list of logins is empty.").
    (schemas.MembersIn, _form(**TOKEN), {"logins": []}),
    (schemas.AccountCreateIn, _form(login="clerk", password="pw-123456", role="admin", csrf_token="t"),
     {"login": "clerk", "password": "pw-123456", "role": "admin"}),
    (schemas.AccountPatchIn, _form(disabled="true", csrf_token="t"), {"disabled": True}),
    (schemas.AccountPatchIn, _form(disabled="false", csrf_token="t"), {"disabled": False}),
    (schemas.AccountPatchIn, _form(role="viewer", csrf_token="t"), {"role": "viewer"}),
]  # fmt: skip


@pytest.mark.parametrize(("model", "form", "body"), SAME, ids=[f"{m.__name__} {b}"[:60] for m, _, b in SAME])
def test_a_form_is_the_model_its_json_body_is(
    model: type[BaseModel], form: FormData, body: dict[str, Any]
) -> None:
    assert parse(model, form) == model.model_validate(body)


def test_a_field_left_out_is_left_to_the_model_as_in_json() -> None:
    # A PATCH tells "left out" (unchanged) from "emptied" (cleared) by the fields given.
    patch = parse(schemas.UserPatchIn, _form(full_name="Al", **TOKEN))
    assert patch.model_fields_set == {"full_name"} and patch.groups is None, "no groups field: none changed"
    emptied = parse(schemas.UserPatchIn, _form(full_name="", shell="", groups="", **TOKEN))
    assert emptied.model_fields_set == {"full_name", "groups"} and emptied.shell is None
    assert _problems(schemas.UserCreateIn, _form(**TOKEN)) == ["The field 'login' is required."]
    assert parse(schemas.AccountPatchIn, _form(csrf_token="t")).model_fields_set == set()


def test_what_the_model_refuses_in_json_it_refuses_in_a_form() -> None:
    assert _problems(schemas.UserCreateIn, _form(login="zoe", uid="0", **TOKEN)) == [
        "The field 'uid' is not accepted here."
    ]
    [gid] = _problems(schemas.GroupCreateIn, _form(name="lab", gid="abc"))
    assert gid.startswith("The field 'gid' is invalid")
    [home] = _problems(schemas.UserDeleteIn, _form(home="burn"))
    assert home.startswith("The field 'home' is invalid")
    [role] = _problems(schemas.AccountCreateIn, _form(login="x", password="p" * 8, role="root"))
    assert role.startswith("The field 'role' is invalid")
    # One value is one value: a second one is not quietly dropped.
    [twice] = _problems(schemas.UserCreateIn, _form(("login", "zoe"), ("login", "root")))
    assert twice.startswith("The field 'login' is invalid")


def test_only_the_forms_own_fields_and_those_the_handler_names_are_set_aside() -> None:
    assert parse(schemas.TargetOnly, _form(csrf_token="t", host="other")) == schemas.TargetOnly()
    assert _problems(schemas.TargetOnly, _form(confirm="yes")) == [
        "The field 'confirm' is not accepted here."
    ]
    assert parse(schemas.TargetOnly, _form(confirm="yes"), also=("confirm",)) == schemas.TargetOnly()


def test_a_ticked_checkbox_is_true_an_unticked_one_false() -> None:
    for value in ("yes", "on", "true", "1"):
        assert parse(schemas.UserCreateIn, _form(login="zoe", create_home=value)).create_home is True
    assert parse(schemas.UserCreateIn, _form(login="zoe")).create_home is False
