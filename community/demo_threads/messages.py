"""Texts and picture messages: MMS, verification codes, spam and scam texts, blocking callers."""

from __future__ import annotations

from community.demo_threads import ASKER, FAIR, GOOD, GREAT, MEH, STAFF, a, q

MMS = """Picture messages need **mobile data on** (even if you normally use Wi-Fi) and the MMS settings in the APN:
MMSC `http://mms.kestrel.example`, proxy `10.20.30.40`, port `8080`. On iPhone check Settings > Messages > MMS Messaging
is on. Restart after changing anything."""

SPAM = """Forward the text to **7726** (spells SPAM on a keypad; free on every UK network), then delete it. Don't tap
links or reply. If you did tap a link and entered details, call your bank straight away."""

THREADS = [
    q("Can't send picture messages (MMS)",
      "Group chats with Android friends don't work and I can't send photos by text. iPhone 12.",
      "mms sms iphone",
      a(MMS, GREAT, ok=True, notes=("MMS Messaging was off in settings. Group chats work again.",)),
      a("Just use WhatsApp for photos tbh", MEH)),
    q("MMS received as a link instead of a picture",
      "I get a text 'You've received a picture message, view it at...' with a link. Why not the actual picture?",
      "mms",
      a("That happens when the MMS can't be delivered to your phone (usually mobile data off or wrong APN), so it falls back to a web link. Fix the MMS settings and new ones will come through.", GOOD, ok=True)),
    q("Verification codes not arriving",
      "Can't get one-time codes from Amazon or my bank, other texts arrive fine.",
      "sms banking",
      a("Check Settings > Messages for a 'filter unknown senders' folder, and check you haven't blocked short codes in the app (Account > Barring > Premium rate also blocks some business senders).", GREAT, ok=True),
      a("Banks send codes from short numbers that are sometimes delayed by up to an hour at busy times.", FAIR)),
    q("Scam text pretending to be Royal Mail",
      "'Your parcel could not be delivered, pay £1.45 redelivery fee'. Obviously fake but how do I report it?",
      "sms spam security",
      a(SPAM, GREAT, ok=True)),
    q("Block a number that keeps calling me",
      "Same withheld-then-different numbers calling me 10 times a day. Debt collector for someone else.",
      "calls spam",
      a("Block on the phone for single numbers. For withheld ones, turn on 'Kestrel Protect' in the app (call screening), which can send withheld calls straight to voicemail.", GOOD, ok=True)),
    q("Texts arriving hours late",
      "My wife's texts arrive 2-3 hours after she sends them. Started last week.",
      "sms",
      a("If it's only from one sender, it's probably their side. If from everyone, restart, then check storage isn't full (full storage delays texts).", FAIR),
      a("Phone storage was full. Cleared 5GB of videos and texts now arrive instantly.", GOOD, ok=True, by=ASKER)),
    q("how do i withhold my number",
      "want to call someone without my number showing",
      "calls",
      a("Dial 141 before the number for one call. To always withhold, Settings > Phone > Show my caller ID off (iPhone) or Call settings > Caller ID (Android).", GOOD, ok=True)),
    q("Group texts splitting into individual messages",
      "Group MMS chat with 5 people shows as 5 separate conversations on my Samsung.",
      "mms samsung",
      a("Messages settings > More settings > Multimedia messages > Group conversations: set to 'Send MMS to all'. Needs mobile data on.", GOOD, ok=True)),
    q("Getting texts meant for the previous owner of my number",
      "New number, getting appointment texts for someone called Dave. Dentist, GP, the lot.",
      "sms account",
      a("Numbers are recycled after a quarantine period. Reply to the senders that it's the wrong number; there's nothing the network can do about third parties still holding it.", GOOD, ok=True)),
    q("Kestrel keeps sending me marketing texts",
      "How do I stop the 'exclusive offer' texts?",
      "sms account",
      a("App > Account > Contact preferences, untick texts. Service texts (bills, usage) still come.", GOOD, ok=True)),
    q("Sent a text to a premium number by accident",
      "Replied to a quiz text and now I'm subscribed to something at £4.50 a week!",
      "sms billing",
      a("Text STOP to the short code first. Then ask support for a refund, premium services have to refund if the sign-up wasn't clear.", GOOD),
      a("""I've stopped the subscription and added a premium-rate bar so it can't happen again. The two charges of £4.50 are
refunded. The service's sign-up didn't show the price clearly, so I've also reported them to the Phone-paid Services Authority.""", GOOD, ok=True, by=STAFF)),
    q("Texts say 'Not delivered' to one contact only",
      "Every text to my brother fails. He can text me. He's on another network.",
      "sms",
      a("Check his number in your contacts is +44 or 07, not an old saved format. And he may have blocked you accidentally.", FAIR, ok=True,
        notes=("He had blocked me by accident when he got a new phone. Family.",))),
    q("Scam call claiming to be from Kestrel",
      "Someone rang saying they're from Kestrel and my contract is ending, asking for my account PIN. Legit?",
      "calls spam security",
      a("Never legit. Kestrel will never ask for your PIN or a code sent to you by text. Hang up, and report it at the app's Help > Report a scam.", GREAT, ok=True,
        notes=("Thought so. Thanks", "I got the same call last week, they had my name and address."))),
    q("iMessage activation failing",
      "'Waiting for activation' on iMessage for 2 days.",
      "sms iphone",
      a("iMessage activation sends a hidden international text to Apple, which needs credit or a plan that allows international texts. Check you're not barred from international SMS.", GOOD, ok=True)),
    q("Android RCS chat stuck on 'Setting up'",
      "Google Messages RCS says setting up... forever.",
      "sms android",
      a("Clear storage for Carrier Services and Google Messages, restart. It uses a verification text, so don't block unknown senders while it sets up.", FAIR, ok=True)),
    q("Texts from my bank arriving with a scam warning",
      "Real texts from my bank are now showing 'This message may be spam'.",
      "sms spam banking",
      a("""That label is added by your phone's messages app (Google Messages and iOS both run their own spam filter), not by the
network. Open the message, tap the warning and choose **Not spam** / *Report not junk*; after one or two it learns.""", GOOD, ok=True)),
]
