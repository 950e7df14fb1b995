"""The hidden ground truth of the demo corpus: guidelines (condition -> action) agents follow.

Per situation, the unqualified guidelines are applied in the order listed here. Generic
guidelines (no situation) cover greeting, closing, transfers, escalation and card-number safety.
A guideline's action text is its move's description, so "what the agent does" has one wording.
"""

from __future__ import annotations

from guideminer.ingest.demo_catalog import Guideline
from guideminer.ingest.demo_catalog_moves import MOVES

_ACTION_BY_MOVE = {move.id: move.description for move in MOVES}


def _g(
    guideline_id: str,
    situation_id: str | None,
    move_id: str,
    condition: str,
    qualifier: str | None = None,
    qualified_openings: tuple[str, ...] = (),
    replaces: str | None = None,
) -> Guideline:
    return Guideline(
        id=guideline_id,
        situation_id=situation_id,
        move_id=move_id,
        condition=condition,
        action=_ACTION_BY_MOVE[move_id],
        qualifier=qualifier,
        qualified_openings=qualified_openings,
        replaces=replaces,
    )


GENERIC_GUIDELINES: tuple[Guideline, ...] = (
    _g("g_greet", None, "greet", "a conversation starts"),
    _g("g_apologize_angry", None, "apologize", "the customer is angry or frustrated"),
    _g("g_warn_card", None, "warn_card", "the customer shares a full card number"),
    _g("g_transfer", None, "transfer", "the customer raises a second topic handled by another department"),
    _g("g_check_in", None, "check_in", "the customer stops replying"),
    _g("g_close", None, "close", "the customer's issue has been handled"),
    _g("g_escalate_unhappy", None, "escalate_supervisor", "the customer is still unhappy with the offered solution"),
)

_ORDERS = (
    _g("g_pnd_order_number", "package_not_delivered", "ask_order_number", "the customer's package has not arrived"),
    _g("g_pnd_tracking", "package_not_delivered", "check_tracking", "the customer's package has not arrived"),
    _g(
        "g_pnd_marked_delivered", "package_not_delivered", "ask_check_neighbours",
        "the package has not arrived although tracking shows it as delivered",
        qualifier="tracking shows the parcel as delivered",
        qualified_openings=(
            "the tracking says my {product} was delivered on {date} but there's nothing here",
            "{carrier} marked order {order} as delivered but I never got it",
            "it says delivered yet there is no package at my door",
        ),
        replaces="g_pnd_tracking",
    ),
    _g("g_eta_estimate", "delivery_eta", "give_delivery_estimate", "the customer asks when an order will arrive"),
    _g("g_address_confirm", "change_address", "confirm_new_address", "the customer wants to change the delivery address"),
    _g("g_wrong_item_photo", "wrong_item", "ask_order_photo", "the customer received the wrong item"),
    _g("g_cancel_order_confirm", "cancel_order", "confirm_cancellation", "the customer wants to cancel an order"),
)

_RETURNS = (
    _g("g_damaged_photo", "damaged_on_arrival", "ask_order_photo", "the item arrived damaged"),
    _g("g_damaged_offer", "damaged_on_arrival", "offer_replacement_or_refund", "the item arrived damaged"),
    _g(
        "g_damaged_urgent_express", "damaged_on_arrival", "offer_express_shipping",
        "the item arrived damaged and is a gift or needed urgently",
        qualifier="the item is a gift or needed urgently",
        qualified_openings=(
            "my {product} arrived broken and it's a birthday gift for {date}",
            "the {product} came damaged and I urgently need it for work this week",
            "order {order} showed up smashed and it was meant to be a present this weekend",
        ),
    ),
    _g("g_return_policy", "start_return", "explain_return_policy", "the customer wants to return an item"),
    _g("g_refund_timeline", "refund_status", "explain_refund_timeline", "the customer asks where their refund is"),
    _g(
        "g_refund_overdue_escalate", "refund_status", "escalate_supervisor",
        "the customer has waited more than 14 days for a refund",
        qualifier="the customer has waited more than 14 days",
        qualified_openings=(
            "I returned the {product} over three weeks ago and still no refund",
            "it's been more than a month and my refund of {amount} never arrived",
            "I've waited 20 days for the refund on order {order}",
        ),
        replaces="g_refund_timeline",
    ),
    _g("g_late_return_credit", "return_window_expired", "offer_store_credit", "the customer wants to return an item after 30 days"),
    _g("g_exchange_offer", "exchange_item", "offer_exchange", "the customer wants to exchange an item"),
)

_BILLING = (
    _g("g_charged_twice_last4", "charged_twice", "verify_last4", "the customer was charged twice"),
    _g("g_charged_twice_refund", "charged_twice", "refund_duplicate", "the customer was charged twice"),
    _g("g_declined_check_card", "payment_declined", "ask_check_card", "the customer's payment is declined"),
    _g("g_invoice_send", "request_invoice", "send_invoice", "the customer needs an invoice"),
    _g("g_unrecognized_explain", "unrecognized_charge", "explain_charge", "the customer does not recognise a charge"),
    _g(
        "g_unrecognized_fraud", "unrecognized_charge", "escalate_fraud",
        "the customer does not recognise a charge and their card was lost or stolen",
        qualifier="the customer's card was lost or stolen",
        qualified_openings=(
            "there are charges of {amount} I didn't make and my wallet was stolen last week",
            "I lost my card on {date} and now I see a {amount} charge from you",
            "someone used my stolen card to buy a {product} from you",
        ),
        replaces="g_unrecognized_explain",
    ),
    _g("g_promo_ask_code", "promo_code", "ask_promo_code", "the customer's promo code does not work"),
)

_TECH = (
    _g("g_power_reset", "device_wont_power_on", "troubleshoot_reset", "the customer's device will not turn on"),
    _g("g_warranty_explain", "warranty_question", "explain_warranty", "the customer asks about the warranty"),
    _g("g_app_device_version", "app_crash", "ask_device_version", "the app keeps crashing"),
    _g("g_setup_guide", "setup_help", "send_setup_guide", "the customer needs help with setup"),
    _g("g_connectivity_reset", "connectivity_issue", "troubleshoot_reset", "the device will not connect"),
)

_ACCOUNT = (
    _g("g_forgot_verify_email", "forgot_password", "verify_email", "the customer forgot their password"),
    _g("g_forgot_reset_link", "forgot_password", "send_reset_link", "the customer forgot their password"),
    _g(
        "g_forgot_no_email_alt_verify", "forgot_password", "verify_alt_identity",
        "the customer forgot their password and cannot access the account email",
        qualifier="the customer no longer has access to the account email",
        qualified_openings=(
            "I forgot my password and I don't have access to my old email anymore",
            "I need to reset my password but the email on the account is from an old job",
            "I can't log in and the reset emails go to an address I can't open",
        ),
        replaces="g_forgot_verify_email",
    ),
    _g("g_locked_verify_email", "account_locked", "verify_email", "the customer's account is locked"),
    _g("g_update_email_verify", "update_email", "verify_email", "the customer wants to change the account email"),
    _g("g_delete_explain", "delete_account", "explain_deletion", "the customer wants the account deleted"),
    _g("g_suspicious_secure", "suspicious_login", "secure_account", "the customer reports a login they did not make"),
)

_SUBSCRIPTIONS = (
    _g("g_cancel_sub_retention", "cancel_subscription", "offer_retention", "the customer wants to cancel a subscription"),
    _g("g_cancel_sub_confirm", "cancel_subscription", "confirm_cancellation", "the customer wants to cancel a subscription"),
    _g("g_plan_options", "change_plan", "explain_plan_options", "the customer wants a different plan"),
    _g("g_pause_confirm", "pause_subscription", "confirm_pause", "the customer wants to pause the subscription"),
    _g("g_renewal_refund", "renewal_charge", "offer_prorated_refund", "the customer was charged for an unwanted renewal"),
    _g("g_missing_box_reship", "missing_box", "reship_box", "the subscription box did not arrive"),
)

GUIDELINES: tuple[Guideline, ...] = GENERIC_GUIDELINES + _ORDERS + _RETURNS + _BILLING + _TECH + _ACCOUNT + _SUBSCRIPTIONS
