"""Personal hotspot and tethering: switching off, laptops dropping, allowances."""

from __future__ import annotations

from community.demo_threads import FAIR, GOOD, GREAT, MEH, POOR, WRONG, a, q

TIMEOUT = """Phones switch the hotspot off when nothing has been connected (or sending data) for a while, to save battery.
Turn that off:

* **Samsung**: Settings > Connections > Mobile Hotspot and Tethering > Mobile Hotspot > ⋮ > *Turn off hotspot automatically* (set to Never)
* **Pixel**: Settings > Network & internet > Hotspot & tethering > Wi-Fi hotspot > *Turn off hotspot automatically* (off)
* **iPhone**: there's no timer, but the hotspot stops when the screen locks if no device has joined yet; keep the
  Personal Hotspot screen open until the laptop is connected, and turn on *Maximise Compatibility*.

Also turn off battery saver / Low Power Mode while tethering."""

BAND = """If the laptop is a few years old, switch the hotspot to **2.4 GHz** (on iPhone that's *Maximise Compatibility*).
Older Wi-Fi cards drop 5 GHz hotspots every few minutes, especially through a wall."""

THREADS = [
    q("Hotspot on my phone keeps turning off after a few minutes",
      """I use my phone's hotspot for my laptop when I'm on the train. After 5-10 minutes the hotspot just turns itself off
and I have to go into settings and switch it back on. Galaxy S22. Mobile data on the phone itself keeps working.""",
      "hotspot samsung",
      a(TIMEOUT, GREAT, ok=True, notes=("It was set to turn off after 10 minutes of no devices. The laptop sleeps its wifi sometimes. Set to never, all good now.",)),
      a("Is battery saver on? That kills the hotspot", GOOD),
      score=15),
    q("Personal hotspot keeps switching off on iPhone",
      "Personal Hotspot switches off on its own and my iPad loses internet. iPhone 13, iOS 17. Really annoying when working from a cafe.",
      "hotspot iphone",
      a(TIMEOUT, GOOD),
      a("Keep the Personal Hotspot settings page open until the iPad joins, and turn Low Power Mode off. iPhones drop an idle hotspot after 90 seconds with Low Power on.", GREAT, ok=True,
        notes=("Low power mode. Every time. Thanks!",)),
      a("Get a mifi dongle, much less hassle", MEH)),
    q("Tethering disconnects after a few minutes",
      """Tethering my Windows laptop to my Pixel. It connects, works for 3-4 minutes, then the laptop says "No internet" although
it's still connected to the hotspot. Disconnect/reconnect fixes it for another few minutes.""",
      "hotspot pixel tethering",
      a(BAND, GREAT, ok=True, notes=("Switched to 2.4GHz and it's been solid for 2 hours. Old Dell laptop.",)),
      a("Update your laptop's wifi driver, helped me", FAIR)),
    q("Laptop loses connection to phone hotspot",
      "My MacBook keeps losing the connection to my Android hotspot. Phone says hotspot is still on, laptop has dropped it.",
      "hotspot tethering android",
      a(BAND, GOOD, ok=True),
      a(TIMEOUT, FAIR),
      a("Macs and Androids don't get on, use a cable", POOR)),
    q("Hotspot turns itself off when my screen locks",
      "As soon as the phone screen goes off, hotspot dies. Moto G54.",
      "hotspot android",
      a("Moto has a 'Battery optimisation' setting that includes the hotspot. Settings > Battery > Adaptive battery off, and set 'Turn off hotspot automatically' to off.", GOOD, ok=True)),
    q("Is hotspot included in my plan?",
      "Can I use my data for hotspot or is it extra?",
      "hotspot plans",
      a("Included on every plan, from your normal allowance. On unlimited plans hotspot use is capped at 100GB a month.", GOOD, ok=True)),
    q("Hotspot says 'contact your carrier to enable'",
      "Trying to turn on hotspot on my iPhone SE, it says contact Kestrel to enable personal hotspot.",
      "hotspot iphone account",
      a("Usually means the carrier settings are out of date, or a parental restriction on the line. Settings > General > About (wait 10 seconds for any update prompt). If nothing, check Account > Line > Restrictions in the app.", GOOD, ok=True,
        notes=("It was the parental restriction on my line! My dad set it up years ago, lol",))),
    q("Hotspot very slow compared to phone",
      "Phone gets 50Mbps, laptop on hotspot gets 3. Why?",
      "hotspot data speed",
      a("Most often it's a 5 GHz/2.4 GHz mismatch or distance; put the phone next to the laptop and try 5 GHz. Also check the laptop isn't running a cloud backup.", FAIR),
      a("They throttle hotspot", WRONG, notes=("Kestrel doesn't throttle hotspot speed, only caps volume on unlimited.",))),
    q("tethering via usb cable - how",
      "wifi on the laptop is broken, can I use the phone's internet over usb",
      "tethering hotspot",
      a("Yes: plug in, then Settings > Hotspot & tethering > USB tethering (Android). iPhone: turn on Personal Hotspot and the Mac/PC sees it as a wired network.", GOOD, ok=True)),
    q("Hotspot used loads of data overnight",
      "Left laptop tethered overnight and woke up to 6GB gone.",
      "hotspot data usage",
      a("Laptops think they're on broadband and download updates. On Windows set the hotspot as a 'metered connection'; on Mac turn on 'Low data mode' for that network.", GREAT, ok=True)),
    q("Can't see my hotspot from my laptop",
      "Hotspot is on but the laptop doesn't list it at all. Other phones can see it.",
      "hotspot",
      a(BAND, GOOD, ok=True),
      a("Try renaming the hotspot without spaces or emoji, some old laptops can't show them.", FAIR)),
    q("Hotspot keeps disconnecting my kids' tablets in the car",
      "Long drives, two tablets on my phone's hotspot, they keep dropping off every 10 minutes or so. Kids not impressed.",
      "hotspot family",
      a(TIMEOUT, GOOD, ok=True),
      a("Might be the phone overheating in the car, it throttles the hotspot. Take it out of the sun / off the wireless charger.", GOOD)),
    q("Max devices on hotspot?",
      "How many can connect at once?",
      "hotspot",
      a("Phones usually allow 5-10 (iPhone 5 by default). It's a phone limit, not a network one.", FAIR, ok=True)),
    q("Hotspot stopped working after switching to Kestrel",
      "Hotspot worked on my old network, since moving to Kestrel laptops connect but get no internet.",
      "hotspot apn",
      a("Your phone may still have the old network's APN with a 'dun' (tethering) entry. Delete the old APNs and make sure the Kestrel APN type includes 'dun'.", GOOD, ok=True)),
]
