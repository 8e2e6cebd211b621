"""Monthly bills: higher than expected, direct debits, refunds, itemised charges, price rises."""

from __future__ import annotations

from community.demo_threads import DESK, FAIR, GOOD, GREAT, POOR, STAFF, WRONG, a, q

ITEMISED = """Open the bill in the app (Bills > the month > **See itemised**). Anything outside your plan is listed at the
bottom under *Extra charges*. The usual suspects, in order:

1. Calls to 084/087/09 numbers (service charges aren't in any plan)
2. Premium texts (short codes like 8xxxx: competitions, quiz apps)
3. Roaming outside Europe without a Travel Pass
4. An add-on that renewed (Data boost, International)

Post what the line says if you're still not sure."""

PRORATA = """Your first bill is always bigger: it covers the part-month from your start date to the bill date **plus** the next
month in advance. From the second bill it's just the plan price."""

THREADS = [
    q("Bill is £18 more than my plan this month",
      """My plan is £16 a month. This month's bill is £34.12. I haven't been abroad. What's going on?

I looked at the bill in the app but it's just a total and a line that says "Usage charges £18.12". Nothing else. I don't
call premium numbers, I don't do competitions, I don't even really make calls except to my mum and the doctors.
I've got a direct debit so it'll just come out, and I'm on a tight budget this month so this really isn't ideal.
Is there anyway to see what the "usage" actually is before it goes out?? Thanks in advance""",
      "billing",
      a(ITEMISED, GREAT, ok=True, notes=("It was calls to an 0845 number to my GP. £1.50 a go! Who knew.",)),
      a("check for premium texts", FAIR),
      score=7),
    q("First bill much higher than expected",
      "Joined on the 9th, plan is £12, first bill is £20.80. Am I being overcharged?",
      "billing",
      a(PRORATA, GOOD, ok=True)),
    q("Direct debit failed - will I be cut off?",
      "Changed banks and the direct debit bounced. Got an email. What happens now?",
      "billing direct-debit",
      a("""Nothing drastic straight away. Update the bank details in the app (Bills > Payment method) and pay the outstanding
amount by card there to avoid a £5 late fee. Lines are only restricted after about 14 days unpaid.""", GOOD, ok=True)),
    q("Why did my bill go up in April?",
      "Plan was £15, now £16.20. Didn't change anything.",
      "billing price-rise",
      a("The annual price rise. Since 2024 it's a fixed £ amount per plan set out when you sign up (on yours £1.20/month each April), rather than a percentage.", GOOD, ok=True),
      a("Every network puts prices up in april, it's in the contract", FAIR)),
    q("Charged for a 'Data Boost' I never bought",
      """£5 "Data Boost 5GB" on my bill. I did not buy this. Nobody else uses my phone.""",
      "billing data refund",
      a("Data Boosts can be bought with one tap from the 'you've used 80% of your data' text. Could someone have tapped it? Kids?", FAIR),
      a("""I've checked: the Data Boost was added from the link in the 80% usage text on the 22nd. As it was unused (0 MB) I've
removed it and refunded the £5. I've also turned on 'ask for my PIN before buying add-ons' on your account so it can't
happen with a single tap again.""", GOOD, ok=True, by=STAFF)),
    q("How do I get a VAT invoice?",
      "Need a proper VAT invoice for my self assessment. The app shows the bill but no VAT number.",
      "billing business",
      a("Bills > the month > Download PDF. The PDF has our VAT number and the VAT breakdown; the in-app view doesn't.", GOOD, ok=True)),
    q("Refund for outage days?",
      "We had no signal for 3 days last week (the Norwich mast thing). Can I get money back?",
      "billing outage refund",
      a("Yes, Ofcom's automatic compensation is for landlines/broadband, but for mobile Kestrel gives a credit if you ask. Contact support with the dates.", FAIR),
      a("Everyone affected by the Norwich outage gets an automatic credit of 1/30th of the monthly price per day, it appears on the next bill as 'Service credit'.", GOOD, ok=True)),
    q("Can I change my bill date?",
      "Paid on the 28th, bill is on the 15th. Bit of a squeeze.",
      "billing direct-debit",
      a("Bills > Payment date: you can choose any day 1-28. The next bill will be a short or long one to adjust.", GOOD, ok=True)),
    q("Charged 'out of bundle' calls to an 03 number",
      "03 numbers are supposed to be like normal calls aren't they?",
      "billing calls",
      a("Yes, 03 numbers count as part of your minutes. If they showed as extra, ask support to re-rate it.", GOOD),
      a("Those calls were to 0300 numbers and should have come from your minutes; a rating rule was wrong for one week in March and hit several customers. I've re-rated them and refunded £3.30.", GOOD, ok=True, by=STAFF)),
    q("Paying by card instead of direct debit",
      "I'd rather pay manually each month, is that allowed?",
      "billing payment",
      a("It's allowed but there's a £2.50 admin fee per bill for non-direct debit payment. Most people stick with DD for that reason.", FAIR, ok=True)),
    q("Bill shows charges for a number I don't recognise",
      "There's a second line on my account, 07700 900 something, £10/month. Never ordered it.",
      "billing account security",
      a("Check the account's order history (Account > Orders). If you didn't order it, change your password now and tell support, it might be fraud.", GOOD),
      a("""The second line was added by mistake when a store colleague processed an upgrade for another customer with a similar
name. I've removed it, refunded the two months of £10 charges, and recorded the error with the store. Sorry for the worry.""", GOOD, ok=True, by=STAFF)),
    q("Bill still shows old plan price after downgrading",
      "Downgraded from £25 to £15 plan last month, bill still £25.",
      "billing plans",
      a("Plan changes take effect from your next bill date, and bills are charged in advance, so the first bill after the change is still the old price. The one after drops.", GOOD, ok=True,
        notes=("Ahh, that makes sense, thanks",))),
    q("What's the £1.99 'Kestrel Protect' charge?",
      "Don't remember adding anything called Protect.",
      "billing",
      a("It's the call-screening/spam blocking add-on. It's offered free for 3 months on new contracts then costs £1.99. Remove it in Add-ons if you don't want it.", GOOD, ok=True),
      a("It's the phone insurance I think", WRONG)),
    q("Late payment fee - I paid on time!",
      "Paid in full by card on the due date and still got a £5 late fee. Annoying.",
      "billing refund",
      a("""Card payments made on the due date after 6pm can land the next day. I've refunded the £5 since you paid on the day; for
the future, paying before 6pm avoids it. Sorry for the trouble.""", GOOD, ok=True, by=STAFF)),
    q("bills keep going to my old email",
      "changed email in the app but the bill still emails the old one",
      "billing account",
      a("There are two emails: your log-in email and the *billing contact*. Bills > Bill settings has the billing one.", GOOD, ok=True)),
    q("Why am I paying for Caller Display?",
      "It's 2020-something, surely that's free.",
      "billing",
      a("It is free on Kestrel. Are you sure the line isn't 'Call Forwarding' (charged when forwarding to another number)?", FAIR, ok=True)),
    q("Roaming charges on my bill when I was in Portugal",
      "Portugal is in Europe! Charged £9.",
      "billing roaming europe",
      a("Look at the day: if your phone caught a signal from the ferry or at the airport in transit somewhere non-EU, that's when it'd happen.", FAIR),
      a("""Those charges were from the 4th, when your phone connected to a maritime network (the ferry from Plymouth). That's
satellite, so it isn't covered. I've refunded it this once; keep airplane mode on at sea next time.""", GOOD, ok=True, by=STAFF)),
    q("How do I see bills older than 12 months?",
      "Need my bills from 2022 for a mortgage application.",
      "billing account",
      a("The app shows 12 months. For older ones use the website: Bills > Archive goes back 6 years.", GOOD, ok=True)),
    q("Am I charged for calling 0800 numbers?",
      "Quick one, are freephone numbers free on mobile?",
      "billing calls",
      a("Yes, 0800 and 0808 have been free from mobiles since 2015. 116 numbers (like 116 123, Samaritans) are free too.", GREAT, ok=True)),
    q("Charged for calls to 118 directory enquiries - £12 for one call??",
      "Called 118 something to get a restaurant number. £12.40 for 3 minutes. How is this legal",
      "billing calls",
      a("118 numbers set their own price, often £5+ per call plus per minute, and they're legally allowed to. Sadly it's correct. Always search online instead.", GOOD, ok=True),
      a("Complain to Ofcom, they'll make them refund it", POOR)),
    q("Discount for NHS staff?",
      "Do Kestrel do any key worker / NHS discount on monthly plans?",
      "billing plans",
      a("There's a 15% discount for NHS, emergency services, teachers and armed forces, verified through a 3rd-party ID check in the app (Plans > Discounts).", GOOD, ok=True)),
    q("Paid bill twice by accident",
      "Paid by card and then the direct debit also went out. How do I get the double payment back?",
      "billing refund direct-debit",
      a("The extra payment sits as credit on your account and comes off the next bill automatically. If you'd rather have it back, support can refund it to the card.", GOOD, ok=True)),
    q("Bill increase - can I leave without paying the fee?",
      "If they put the price up, can I cancel penalty free?",
      "billing contracts cancellation price-rise",
      a("Not for the annual rise that was in the contract when you signed. For any *other* price change mid-contract you get 30 days to leave penalty free.", GOOD, ok=True)),
    q("Got charged for texts to 'VOTE' number on a TV show",
      "Kids voted on a singing show, 30 texts at 50p. Can I block that?",
      "billing sms parental-controls",
      a("Account > Line > Barring > Premium rate: blocks premium texts and calls. Doesn't help with the past ones I'm afraid.", GOOD, ok=True)),
    q("Bill explanation - what is 'Usage charges (excl. VAT)'?",
      "Confusing layout. Is the total incl. VAT or not?",
      "billing",
      a("The total at the top includes VAT; the line items in the breakdown are shown ex VAT with VAT added at the bottom.", FAIR, ok=True)),
    q("Got a bill after I cancelled",
      "Left Kestrel last month, just got another bill for £14. Did they not get my cancellation?",
      "billing cancellation",
      fate=DESK),
    q("Question about my bill",
      "Theres something on my bill I dont understand, can someone help me please",
      "billing"),
]
