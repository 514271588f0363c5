"""The canonical envelope, built from a Telegram user and a draft, against seed 000's example."""

import json

from bot.complaint import Customer, build_envelope

SEED_000_EXAMPLE_REQUEST = json.loads("""
{
    "conversationRequest": {
        "channel": "TELEGRAM",
        "userInfo": {"first_name": "Vignesh", "last_name": "M", "uid": "39987",
                     "username": "vigneshm"}
    },
    "queryInfo": {
        "interestType": "productComplaint",
        "parameters": {"params": {"entityInfo": {
            "orderId": "748596",
            "problemStatment": "Product Not working. Need to service.",
            "category": "product-related"}}}
    },
    "languageCode": "en"
}
""")


def _seed_envelope():
    customer = Customer(user_id=39987, first_name="Vignesh", last_name="M", username="vigneshm")
    return build_envelope(
        customer,
        order_id="748596",
        problem="Product Not working. Need to service.",
        category="product-related",
        interest_type="productComplaint",
        language_code="en",
    )


def test_envelope_equals_the_seed_example_request() -> None:
    assert _seed_envelope().to_json_dict() == SEED_000_EXAMPLE_REQUEST


def test_envelope_survives_a_round_trip_through_json() -> None:
    envelope = _seed_envelope()
    assert type(envelope).model_validate_json(envelope.model_dump_json()) == envelope


def test_absent_names_are_left_out_and_the_name_falls_back() -> None:
    envelope = build_envelope(
        Customer(user_id=5),
        order_id="A-1",
        problem="Broken lid",
        category="other",
        interest_type="productComplaint",
        language_code="cs",
    )
    assert envelope.to_json_dict()["conversationRequest"]["userInfo"] == {"uid": "5"}
    assert envelope.customer_name() == "Telegram user 5"


def test_status_query_carries_the_complaint_id() -> None:
    query = _seed_envelope().with_entity(complaintId="12345")
    assert (
        query.to_json_dict()["queryInfo"]["parameters"]["params"]["entityInfo"]["complaintId"]
        == "12345"
    )
