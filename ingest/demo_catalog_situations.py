"""The 30 customer situations of the demo corpus (5 per department) with their opening clauses.

Openings are clauses that fit inside the style frames of `demo_catalog.STYLE_FRAMES`
("I am writing because {core}."), so every clause starts lowercase (or with "I") and has no
final punctuation. Qualified variants of a situation live on its qualified guideline.
"""

from __future__ import annotations

from guideminer.ingest.demo_catalog import Situation

_ORDERS = (
    Situation("package_not_delivered", "Package not delivered", "orders", "the customer's package has not arrived", (
        "my order {order} still hasn't arrived",
        "I ordered a {product} on {date} and it never showed up",
        "my package is late and I have no idea where it is",
        "the {product} I ordered was supposed to be here by {date} but nothing came",
        "I've been waiting for my parcel for over a week now",
        "my delivery didn't arrive, order number {order}",
    )),
    Situation("delivery_eta", "Wants a delivery estimate", "orders", "the customer asks when an order will arrive", (
        "I'd like to know when my {product} will arrive",
        "I need an update on the delivery date for order {order}",
        "I'm wondering when order {order} is going to ship",
        "I need the {product} by {date} and want to know if it will make it",
        "I can't tell from the website when my order will be delivered",
    )),
    Situation("change_address", "Change delivery address", "orders", "the customer wants to change the delivery address", (
        "I need to change the delivery address on order {order}",
        "I put the wrong address on my order for the {product}",
        "I've just moved and want my parcel sent to my new address",
        "I want to update the shipping address before my order goes out",
        "the address on order {order} is my old one and it needs changing",
    )),
    Situation("wrong_item", "Received the wrong item", "orders", "the customer received a different item than ordered", (
        "I received the wrong item in my order {order}",
        "I ordered a {product} but got something completely different",
        "the box had someone else's order in it instead of my {product}",
        "you sent me the wrong colour and size of the {product}",
        "my parcel arrived today but it's not what I ordered",
    )),
    Situation("cancel_order", "Cancel an order", "orders", "the customer wants to cancel an order", (
        "I want to cancel my order {order}",
        "I ordered a {product} by mistake and need to cancel it",
        "I'd like to cancel the order I placed on {date}",
        "I changed my mind about the {product} and don't want it anymore",
        "I need to cancel order {order} before it ships",
    )),
)

_RETURNS = (
    Situation("damaged_on_arrival", "Damaged item on arrival", "returns", "the item arrived broken or damaged", (
        "my {product} arrived damaged",
        "the {product} came with a cracked case and doesn't work",
        "the box was crushed and the {product} inside is broken",
        "order {order} arrived today and the {product} is scratched all over",
        "the {product} I got was broken on arrival",
    )),
    Situation("start_return", "Wants to return an item", "returns", "the customer wants to return an item", (
        "I'd like to return the {product} I bought",
        "I want to send back order {order}",
        "the {product} doesn't fit and I want to return it",
        "I'm not happy with the {product} and would like to return it for a refund",
        "I need to know how to return an item from order {order}",
    )),
    Situation("refund_status", "Asks about refund status", "returns", "the customer asks where their refund is", (
        "I returned my {product} and still haven't got my refund",
        "I want to know where my refund for order {order} is",
        "I sent the {product} back on {date} and the refund of {amount} isn't showing yet",
        "I'm still waiting on a refund of {amount}",
        "my refund for order {order} hasn't come through",
    )),
    Situation("return_window_expired", "Return after the return window", "returns", "the customer wants to return an item after 30 days", (
        "I want to return a {product} I bought two months ago",
        "I missed the return deadline for order {order} but still want to send it back",
        "the 30 days are up but I never used the {product} and want to return it",
        "I know it's been a while but I'd like to return the {product} from {date}",
        "I only just opened the {product} and the return window already closed",
    )),
    Situation("exchange_item", "Exchange for another size or colour", "returns", "the customer wants to exchange an item", (
        "I want to exchange the {product} for a different size",
        "I'd like to swap the {product} for another colour",
        "the {product} from order {order} is too small and I'd like a bigger one",
        "I need to exchange my {product} for a different model",
        "I want a different size of the {product} instead of a refund",
    )),
)

_BILLING = (
    Situation("charged_twice", "Charged twice", "billing", "the customer was charged twice for one order", (
        "I was charged twice for order {order}",
        "I see two charges of {amount} on my card for the same order",
        "my bank statement shows a double charge of {amount}",
        "you took the payment twice for my {product}",
        "I got billed two times for one order on {date}",
    )),
    Situation("payment_declined", "Payment declined at checkout", "billing", "the customer's payment keeps failing", (
        "my card keeps getting declined at checkout",
        "I can't pay for my {product}, the payment fails every time",
        "the checkout says payment declined but my card works everywhere else",
        "my payment of {amount} won't go through",
        "I tried three times to place the order and the card was refused",
    )),
    Situation("request_invoice", "Needs an invoice", "billing", "the customer needs an invoice or receipt", (
        "I need an invoice for order {order}",
        "I need a VAT receipt for my {product} for my company",
        "I can't find the receipt for my purchase on {date}",
        "my accountant needs an invoice for the {amount} payment",
        "I would like a copy of the invoice for order {order}",
    )),
    Situation("unrecognized_charge", "Unrecognised charge", "billing", "the customer does not recognise a charge", (
        "there's a charge of {amount} on my card that I don't recognise",
        "I see a payment to {company} on {date} that I didn't make",
        "I don't know what the {amount} charge on my statement is for",
        "I have a charge from you that I can't account for",
        "my statement shows {amount} from {company} and I didn't order anything",
    )),
    Situation("promo_code", "Promo code not working", "billing", "the customer's discount code does not apply", (
        "my promo code isn't working at checkout",
        "the discount code from your email won't apply",
        "I tried a promo code on my {product} and it says invalid",
        "the code I got for my birthday isn't taking anything off",
        "I forgot to add my discount code to order {order}",
    )),
)

_TECH = (
    Situation("device_wont_power_on", "Device won't turn on", "tech", "the customer's device does not power on", (
        "my {product} won't turn on",
        "the {product} I bought on {date} is completely dead",
        "my {product} stopped working and won't power up",
        "nothing happens when I press the power button on the {product}",
        "the {product} won't charge or switch on anymore",
    )),
    Situation("warranty_question", "Warranty question", "tech", "the customer asks whether the warranty covers a fault", (
        "I'd like to know if the warranty covers my {product}",
        "my {product} has a fault and I think it's still under warranty",
        "the {product} from order {order} developed a problem and I want to use the warranty",
        "I need to know how long the warranty is on the {product}",
        "I want to claim the warranty on my {product}",
    )),
    Situation("app_crash", "App keeps crashing", "tech", "the mobile app crashes", (
        "your app keeps crashing when I open it",
        "the {company} app closes every time I try to check out",
        "the app freezes and then crashes on my phone",
        "I can't use the app, it crashes on the login screen",
        "since the last update the app just shuts down",
    )),
    Situation("setup_help", "Needs help with setup", "tech", "the customer needs help setting up a product", (
        "I need help setting up my new {product}",
        "I can't figure out how to set up the {product}",
        "the instructions for the {product} make no sense to me",
        "I just got the {product} and don't know how to get it started",
        "I'm stuck on the setup of my {product}",
    )),
    Situation("connectivity_issue", "Won't connect to wifi or bluetooth", "tech", "the device does not connect", (
        "my {product} won't connect to wifi",
        "the {product} keeps dropping the bluetooth connection",
        "I can't pair the {product} with my phone",
        "the {product} says no network even though my wifi works",
        "my {product} disconnects every few minutes",
    )),
)

_ACCOUNT = (
    Situation("forgot_password", "Forgot password", "account", "the customer cannot log in without a password reset", (
        "I forgot my password",
        "I can't remember my password and can't log in",
        "I need to reset my password",
        "I'm locked out because I forgot my password",
        "the password I'm using doesn't work anymore and I need a new one",
    )),
    Situation("account_locked", "Account locked", "account", "the customer's account is locked", (
        "my account has been locked",
        "I got a message saying my account is locked after too many attempts",
        "I can't get into my account, it says it's suspended",
        "my account is blocked and I have an order to place",
        "the site says my account is temporarily locked",
    )),
    Situation("update_email", "Change account email", "account", "the customer wants to change the account email", (
        "I want to change the email address on my account",
        "I need to update my email to a new one",
        "my account is still on my old email and I need it changed",
        "I'd like my account to use {email} instead",
        "I want to update the contact details on my account",
    )),
    Situation("delete_account", "Delete account", "account", "the customer wants the account and data deleted", (
        "I want to delete my account",
        "I'd like all my personal data removed and my account closed",
        "I need to close my {company} account permanently",
        "I don't use my account anymore and want it deleted",
        "I want you to erase my account and data",
    )),
    Situation("suspicious_login", "Suspicious login", "account", "the customer saw a login or order they did not make", (
        "I got an alert about a login I didn't make",
        "someone logged into my account from another country",
        "I think my account has been hacked",
        "there's an order on my account that I didn't place",
        "I received a sign-in notification from a device I don't own",
    )),
)

_SUBSCRIPTIONS = (
    Situation("cancel_subscription", "Cancel subscription", "subscriptions", "the customer wants to cancel a subscription", (
        "I want to cancel my subscription",
        "I'd like to cancel my {plan} plan",
        "I need to stop my monthly subscription",
        "I don't want to be charged for the membership anymore",
        "I want to end my {plan} membership",
    )),
    Situation("change_plan", "Change plan", "subscriptions", "the customer wants a different subscription plan", (
        "I'd like to upgrade my plan",
        "I want to switch from {plan} to a cheaper plan",
        "I want to know what plans you have because mine is too expensive",
        "I want to move to the {plan} plan",
        "I need a plan with more deliveries per month",
    )),
    Situation("pause_subscription", "Pause subscription", "subscriptions", "the customer wants to pause a subscription", (
        "I'd like to pause my subscription for a while",
        "I'm travelling next month and want to pause my deliveries",
        "I want to put my {plan} membership on hold",
        "I need to skip the next couple of months",
        "I want to freeze my subscription without cancelling",
    )),
    Situation("renewal_charge", "Unexpected renewal charge", "subscriptions", "the customer was charged for an unwanted renewal", (
        "I was charged {amount} for a renewal I didn't expect",
        "my subscription renewed automatically and I didn't want it to",
        "I forgot to cancel before the renewal and got charged {amount}",
        "you renewed my {plan} plan without telling me",
        "there's a {amount} renewal charge I want refunded",
    )),
    Situation("missing_box", "Subscription box missing", "subscriptions", "this month's subscription box did not arrive", (
        "this month's subscription box never arrived",
        "I didn't get my {plan} box for this month",
        "my monthly box is missing",
        "the subscription delivery due on {date} didn't show up",
        "I'm paying for a box every month and this one didn't come",
    )),
)

SITUATIONS: tuple[Situation, ...] = _ORDERS + _RETURNS + _BILLING + _TECH + _ACCOUNT + _SUBSCRIPTIONS
