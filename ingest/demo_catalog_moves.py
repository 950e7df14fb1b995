"""Agent moves of the demo corpus: what agents do, each with several paraphrases.

Agents are consistent in *what* they do, not word for word: every move has 3-5 paraphrases.
`expects` names the customer reply pool in `demo_catalog.REPLIES` (None: the agent keeps going).
`off_script` is the filler agents use when they deviate from a guideline; no guideline has it.
"""

from __future__ import annotations

from guideminer.ingest.demo_catalog import Move

_GENERIC = (
    Move("greet", "greet the customer and offer help", (
        "Hi, thanks for contacting {company}! My name is {agent}. How can I help you today?",
        "Hello and welcome to {company} support, this is {agent}. What can I do for you?",
        "Hi there, {agent} here from {company}. How can I help?",
        "Good {daypart}, you're through to {company}. I'm {agent}, what can I help you with?",
        "Thanks for reaching out to {company}. This is {agent}, how may I assist you?",
    ), None, etiquette=True),
    Move("apologize", "apologise and acknowledge the customer's frustration", (
        "I'm really sorry about this, I completely understand how frustrating it is. Let's get it sorted.",
        "I'm sorry for the trouble, that's not the experience we want you to have. I'll help you fix this right away.",
        "I apologise for the inconvenience and I understand why you're upset. Let me take care of it.",
        "Sorry to hear that, I can see why you'd be annoyed. I'm on it.",
    ), None, etiquette=True),
    Move("warn_card", "ask the customer not to share full card numbers", (
        "For your security, please don't share your full card number here. I only need the last four digits, and I've removed it from our notes.",
        "Just a heads up: please never send your full card number over chat. The last 4 digits are all I need.",
        "Please avoid sharing complete card details with us; for verification the last four digits are enough.",
    ), None),
    Move("transfer", "tell the customer they are being transferred to the right team", (
        "That one is handled by our {team} team, so I'm transferring you now.",
        "Good question! Let me pass you over to our {team} colleagues, they look after that.",
        "I'll connect you with the {team} team for that part, one moment please.",
    ), None, etiquette=True),
    Move("check_in", "check whether the customer is still there, then close the chat", (
        "Are you still there? I haven't heard back, so I'll close this chat for now. Feel free to reach out again anytime.",
        "Just checking in: are you still with me? If I don't hear back in a few minutes I'll close the conversation.",
        "It looks like we got disconnected. I'll close this for now; just reply to reopen it.",
    ), None, etiquette=True),
    Move("close", "confirm the issue is handled, ask if anything else is needed and say goodbye", (
        "Thanks, that's all taken care of now. Is there anything else I can help you with today?",
        "Great, that's everything on my side. Anything else I can do for you?",
        "Glad I could help! If there's nothing else, have a lovely {daypart}.",
        "That's all sorted. Thanks for contacting {company}, is there anything else?",
    ), "thanks", etiquette=True),
    Move("escalate_supervisor", "escalate the case to a supervisor", (
        "I'm going to escalate this to my supervisor so it gets resolved quickly. You'll hear back within 24 hours.",
        "Let me bring in a supervisor on this one; they'll review the case and contact you by tomorrow.",
        "I've escalated your case to a senior team member with priority. They'll follow up by email.",
    ), "ack"),
    Move("off_script", "vague holding reply that does not address the situation", (
        "Let me see what I can do.",
        "Okay, I understand. One moment.",
        "Thanks for the information, I'll look into this.",
        "Hmm, let me check on that.",
    ), "vague"),
)

_ORDERS_AND_RETURNS = (
    Move("ask_order_number", "ask for the order number", (
        "Could you please share your order number?",
        "Can I get the order number so I can look into this?",
        "Sure, what's the order number? You'll find it in your confirmation email.",
        "To pull up the order I'll need the order number, please.",
    ), "order"),
    Move("check_tracking", "look up the tracking and give the latest carrier status", (
        "Thanks! I've checked the tracking: your parcel is with {carrier} and due within 2 business days.",
        "I can see the package is at the {carrier} depot and should reach you in the next 48 hours.",
        "Tracking shows it's in transit with {carrier}; the latest scan was yesterday and it's due in 1-2 days.",
    ), "ack"),
    Move("ask_check_neighbours", "ask the customer to check with neighbours and safe places and open a carrier investigation", (
        "Sometimes {carrier} leaves parcels with a neighbour or in a safe place. Could you check around? Meanwhile I'm opening an investigation with them.",
        "Could you check with your neighbours and around the porch or mailroom? I've also opened a trace with {carrier}.",
        "I've started a carrier investigation. In the meantime, please check with neighbours and any safe places the driver may have used.",
    ), "ack"),
    Move("give_delivery_estimate", "give the estimated delivery date", (
        "I've checked and your order is scheduled to arrive on {eta}.",
        "Good news, it's on track: the estimated delivery date is {eta}.",
        "According to our system it should be with you by {eta}.",
    ), "ack"),
    Move("confirm_new_address", "ask for the full new address and read it back to confirm", (
        "No problem. What's the full new address, including the postcode? I'll read it back to confirm.",
        "I can update that. Please send me the complete new address and I'll confirm it with you.",
        "Sure, what address should we ship to instead? I'll double-check it with you before saving.",
    ), "address"),
    Move("confirm_cancellation", "confirm the cancellation and when the refund will appear", (
        "Done, I've cancelled it for you. Any payment will be back on your card within 3-5 business days.",
        "That's cancelled now. You'll get a confirmation email and the refund shows up in 3-5 working days.",
        "I've processed the cancellation; the money should be back in your account in a few business days.",
    ), "ack"),
    Move("ask_order_photo", "ask for the order number and a photo of the item", (
        "I'm sorry about that. Could you send me the order number and a photo of the item?",
        "Could you share your order number and a quick photo of what you received?",
        "To sort this out I'll need the order number and a picture of the item, please.",
        "Can you upload a photo of the {product} and tell me the order number?",
    ), "order_photo"),
    Move("offer_replacement_or_refund", "offer a replacement or a full refund", (
        "Thanks. I can send you a replacement free of charge or give you a full refund, whichever you prefer.",
        "I can either ship a new one right away or refund you in full. Which would you like?",
        "Would you like a replacement or a refund? Both are on us, and you don't need to send anything back.",
    ), "choice"),
    Move("offer_express_shipping", "offer free express shipping on the replacement", (
        "Since you need it soon, I've upgraded the replacement to free express shipping so it arrives in 1-2 days.",
        "I'll send it by express delivery at no cost so it gets to you in time.",
        "Given the timing, I've added free next-day shipping to the replacement.",
    ), "ack"),
    Move("explain_return_policy", "explain the 30-day return policy and offer a prepaid label", (
        "You can return any item within 30 days of delivery. I'll email you a prepaid return label now.",
        "Our return window is 30 days and returns are free; a prepaid label is on its way to your inbox.",
        "No problem, items can be returned within 30 days. I've sent a prepaid shipping label to your email.",
    ), "ack"),
    Move("explain_refund_timeline", "explain refunds take 5-7 business days after the return arrives", (
        "Refunds are issued once the return reaches our warehouse and take 5-7 business days to show on your card.",
        "I can see the return was received. Refunds take 5-7 business days to appear, depending on your bank.",
        "Once we receive the item it takes 5-7 working days for the refund to land in your account.",
    ), "ack"),
    Move("offer_store_credit", "offer store credit as an exception after the return window", (
        "That's outside our 30-day window, but as a one-off I can offer you store credit for the full amount.",
        "The return period has passed, but I can make an exception and give you store credit instead.",
        "We can't refund after 30 days, but I'm happy to offer store credit if you send it back.",
    ), "ack"),
    Move("offer_exchange", "check stock and offer an exchange", (
        "Happy to exchange it! Which size or colour would you like? I'll check the stock.",
        "Sure, we can swap it. Tell me the size or colour you need and I'll see what's available.",
        "An exchange is no problem. What would you like instead? I'll reserve it for you.",
    ), "size"),
)

_BILLING_AND_TECH = (
    Move("verify_last4", "ask for the last four digits of the card", (
        "To find the payment, could you give me the last four digits of the card you used?",
        "Can you confirm the last 4 digits of the card that was charged?",
        "Which card was it? Just the last four digits, please.",
    ), "last4"),
    Move("refund_duplicate", "confirm the duplicate charge and refund it", (
        "Thanks, I can see the duplicate charge. I've refunded it and it'll be back on your card in 3-5 days.",
        "You're right, it was charged twice. The second charge has been refunded.",
        "I found the double payment and reversed it; you'll see the refund within a few business days.",
    ), "ack"),
    Move("ask_check_card", "ask the customer to check the card details and billing address", (
        "Could you check the expiry date and that the billing address matches your bank's records, then try again?",
        "Declines usually come from a billing address mismatch. Could you double-check it and retry?",
        "Please make sure the card details and billing address are exactly as your bank has them and try once more.",
    ), "tried"),
    Move("send_invoice", "email the invoice to the account email", (
        "Of course. I've emailed the invoice to the address on your account; it should arrive in a few minutes.",
        "I've just sent a PDF invoice to your account email.",
        "The invoice is on its way to your inbox now.",
    ), "ack"),
    Move("explain_charge", "look up the charge and explain what it was for", (
        "I've looked it up: that {amount} charge is for an order placed on your account on {date}.",
        "That payment is for your order from {date}; it shows under the merchant name {company} Online.",
        "I checked and the charge matches an order on your account. It shows as {company} Online on statements.",
    ), "ack"),
    Move("escalate_fraud", "escalate to the fraud team and advise contacting the bank", (
        "I've flagged this for our fraud team, who will investigate. Please also contact your bank to block the card.",
        "I'm escalating this to our fraud team right now. I'd also recommend calling your bank to cancel the card.",
        "Our fraud team will review these charges. Please call your bank as well so they can stop the card.",
    ), "ack"),
    Move("ask_promo_code", "ask for the promo code to apply it manually", (
        "Sorry about that! Which code did you use? I can apply it manually.",
        "Could you tell me the promo code? I'll check it and add the discount for you.",
        "What's the code? I'll apply the discount from my side.",
    ), "promo"),
    Move("troubleshoot_reset", "walk the customer through a reset", (
        "Let's try a reset: charge it for 15 minutes, then hold the power button for 10 seconds. Does it come back?",
        "Could you hold the power button for about 10 seconds to reset it, then try again?",
        "First, please unplug it for a minute, plug it back in and hold the reset button for 10 seconds.",
    ), "tried"),
    Move("explain_warranty", "explain the two-year warranty and ask for the purchase date", (
        "All our products have a two-year warranty against defects. When did you buy it, and what's the order number?",
        "You're covered by our 2-year manufacturer warranty. Could you tell me the purchase date and order number?",
        "The warranty covers defects for two years from purchase. What's the order number and roughly when did you buy it?",
    ), "purchase"),
    Move("ask_device_version", "ask for the device model and app version", (
        "Sorry about that. Which phone are you using, and which app version is installed?",
        "Could you tell me your device model and the app version? It's under Settings > About.",
        "To look into the crash, what device and app version are you on?",
    ), "device"),
    Move("send_setup_guide", "share the setup guide and walk through the first step", (
        "Here's our step-by-step setup guide: larkfield.example/setup. Start by holding the power button until the light blinks blue.",
        "I've sent you the setup guide by email. The first step is to plug it in and wait for the blinking light.",
        "Let's do it together: the guide is at larkfield.example/setup, and step one is pairing it in the {company} app.",
    ), "tried"),
)

_ACCOUNT_AND_SUBSCRIPTIONS = (
    Move("verify_email", "verify identity by asking for the account email", (
        "I can help with that. First, could you confirm the email address on the account?",
        "For security, please tell me the email address linked to your account.",
        "Before I make changes, what's the email on your account?",
    ), "email"),
    Move("verify_alt_identity", "verify identity with the phone number on file and the last order number", (
        "No problem, we can verify you another way. What's the phone number on the account and your last order number?",
        "Since you can't access that email, please give me the phone number on file and your most recent order number.",
        "I'll verify you with your phone number and your last order number instead.",
    ), "phone"),
    Move("send_reset_link", "send a password reset link", (
        "Thanks, you're verified. I've sent a password reset link; it's valid for 30 minutes.",
        "I've just sent you a reset link. Follow it to choose a new password.",
        "A password reset link is on its way. Check your spam folder if you don't see it.",
    ), "ack"),
    Move("explain_deletion", "explain what deletion removes and the 30-day grace period", (
        "I can do that. Deleting the account removes your order history and saved details; you have 30 days to change your mind.",
        "Just so you know, deletion erases all personal data after a 30-day grace period. Shall I go ahead?",
        "Your account and data will be permanently deleted after 30 days. You can cancel the request until then.",
    ), "ack"),
    Move("secure_account", "advise changing the password and enabling two-factor authentication", (
        "Please change your password right away and turn on two-factor authentication in Settings > Security.",
        "I've signed out all sessions. Please set a new password and enable two-factor authentication.",
        "To secure the account, change your password now and switch on 2-step verification.",
    ), "ack"),
    Move("offer_retention", "offer a discount or a pause before cancelling", (
        "Sorry to see you go! Before I cancel, would 50% off your next three months or a free pause help?",
        "I can cancel it, but I could also offer you a discount or pause the subscription instead. Interested?",
        "Before you go: we can pause your plan or give you three months at half price. Would either work?",
    ), "retention"),
    Move("explain_plan_options", "explain the available plans and prices", (
        "We have Basic at $9, Plus at $19 and Premium at $29 a month. Which one would you like?",
        "Here are the options: Basic ($9/month), Plus ($19/month) and Premium ($29/month). Which suits you?",
        "You can choose Basic, Plus or Premium; the difference is the number of deliveries per month.",
    ), "plan"),
    Move("confirm_pause", "confirm the pause length and the restart date", (
        "Sure. How long would you like to pause for? You can pause for up to three months.",
        "I can pause it. For how many months? It restarts automatically afterwards.",
        "Pausing is no problem. How long should the pause be? I'll confirm the restart date.",
    ), "duration"),
    Move("offer_prorated_refund", "offer a prorated refund of the renewal charge", (
        "I can see the renewal went through. I can refund it on a prorated basis and cancel the auto-renewal.",
        "Since you haven't used the new period, I've refunded the renewal and turned off auto-renew.",
        "I'll issue a prorated refund for the renewal and switch off automatic renewal.",
    ), "ack"),
    Move("reship_box", "reship the missing box at no cost", (
        "Sorry it didn't arrive! I've sent a new box at no extra cost, it should be with you within 3 days.",
        "I've arranged a free replacement box; you'll get tracking details by email.",
        "A new box is on its way to you, free of charge.",
    ), "ack"),
)

MOVES: tuple[Move, ...] = _GENERIC + _ORDERS_AND_RETURNS + _BILLING_AND_TECH + _ACCOUNT_AND_SUBSCRIPTIONS
