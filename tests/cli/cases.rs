//! The failure kinds of issue #13 on small made-up texts, through the
//! binary: each case is a stream of entries (outlet feed, link, title,
//! text, minutes after the first) and the expected story and event
//! partitions (entries not listed stand alone). The texts are invented for
//! these tests; they stand for how journalism copies and re-tells.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{Duration, TimeZone, Utc};

use crate::common::feeds::{Feed, Item};
use crate::common::TestStore;

/// An entry of a case: (name, feed, link, title, text, minutes).
type Entry = (
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    i64,
);

/// Unrelated entries an aggregator's document also carries (its copies of
/// one story are then a small share of its lines, as in a real one).
fn fillers(start: chrono::DateTime<Utc>) -> Vec<Item> {
    let topics = [
        ("wheat", "Wheat futures eased in Chicago as rain in Kansas improved the outlook for the winter crop."),
        ("chess", "A teenage grandmaster from Chennai won the rapid chess title in Tbilisi after a tiebreak."),
        ("opera", "The Vienna State Opera named a new music director who will take up the post next autumn."),
        ("rail", "Engineers reopened the Brenner rail line after a landslide near Innsbruck blocked it overnight."),
        ("bees", "Beekeepers in Provence reported the smallest lavender honey harvest in two decades."),
        ("tennis", "A qualifier from Lima reached the quarter-finals of the clay court tournament in Bucharest."),
        ("museum", "A museum in Kyoto returned a carved screen to a temple that lent it in the 1960s."),
        ("comet", "Astronomers in Chile tracked a comet that will pass closest to the sun in March."),
    ];
    topics
        .iter()
        .enumerate()
        .map(|(i, (slug, text))| {
            Item::new(
                &format!("filler-{slug}"),
                &format!("Brief: {slug}"),
                text,
                start + Duration::minutes(i as i64),
            )
            .link(&format!("https://{slug}.filler.test/{i}"))
        })
        .collect()
}

/// Ingests the case (consecutive entries of one feed in one document) and
/// checks both partitions.
fn check(entries: &[Entry], stories: &[&[&str]], events: &[&[&str]]) {
    let store = TestStore::new();
    let base = Utc
        .with_ymd_and_hms(2026, 3, 2, 8, 0, 0)
        .single()
        .expect("date");
    let mut docs: Vec<(&str, Vec<Item>)> = Vec::new();
    for (name, feed, link, title, text, minutes) in entries {
        let item = Item::new(name, title, text, base + Duration::minutes(*minutes)).link(link);
        match docs.last_mut() {
            Some((f, items)) if f == feed => items.push(item),
            _ => docs.push((feed, vec![item])),
        }
    }
    let mut files = Vec::new();
    for (i, (feed, mut items)) in docs.into_iter().enumerate() {
        if feed == "hub" {
            let start = items[0].published;
            items.extend(fillers(start));
        }
        let doc = Feed::new(feed)
            .self_url(&format!("https://{feed}.test/feed"))
            .items(items)
            .rss();
        let path = store.path(&format!("{i:02}-{feed}.xml"));
        std::fs::write(&path, doc).expect("write feed");
        files.push(path.display().to_string());
    }
    store.ingest(files.iter().map(String::as_str)).assert_ok();
    let names: BTreeSet<&str> = entries.iter().map(|e| e.0).collect();
    let conn = store.conn();
    let mut stmt = conn
        .prepare("SELECT e.guid, e.story_id, s.event_id FROM entries e JOIN stories s ON s.id = e.story_id")
        .expect("prepare");
    let rows: Vec<(String, i64, i64)> = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .expect("query")
        .collect::<Result<_, _>>()
        .expect("rows");
    let placed: BTreeMap<String, (i64, i64)> = rows
        .into_iter()
        .filter(|(g, _, _)| names.contains(g.as_str()))
        .map(|(g, s, e)| (g, (s, e)))
        .collect();
    assert_eq!(placed.len(), names.len(), "every entry stored: {placed:?}");
    for (level, want, pick) in [("story", stories, 0usize), ("event", events, 1usize)] {
        let group = |n: &str| {
            let (s, e) = placed[n];
            if pick == 0 {
                s
            } else {
                e
            }
        };
        let expected = |a: &str, b: &str| want.iter().any(|g| g.contains(&a) && g.contains(&b));
        for a in &names {
            for b in &names {
                if a < b {
                    assert_eq!(
                        group(a) == group(b),
                        expected(a, b),
                        "{level} level: {a} and {b} {} in one {level}",
                        if expected(a, b) {
                            "belong"
                        } else {
                            "do not belong"
                        }
                    );
                }
            }
        }
    }
}

/// write-through with changed toll.
#[test]
fn write_through_with_changed_toll() {
    check(
        &[
            ("bulletin", "wire", "https://wire.test/a/bus-crash", "Bus with tourists overturns in Peru, 25 hurt", "A bus carrying foreign tourists overturned on a mountain road near the Peruvian town of Ollantaytambo on Tuesday, injuring 25 people, police said.\nThe vehicle was travelling from Cusco to the Machu Picchu railway station when its driver lost control on a sharp bend and the bus rolled down a slope of about 40 metres.\nPolice captain Ruben Quispe said the passengers included visitors from Chile, Germany and the United States, and that most of them were taken to the regional hospital in Urubamba.\nLocal media showed images of the bus lying on its side in a field of maize while rescuers carried the wounded up to the road on stretchers.", 0),
            ("update", "paper", "https://paper.test/world/peru-bus", "27 hurt as tourist bus overturns near Machu Picchu route", "At least 27 people were injured, two of them critically, when a bus carrying foreign tourists overturned on a mountain road near the Peruvian town of Ollantaytambo on Tuesday, police said.\nThe vehicle was travelling from Cusco to the Machu Picchu railway station when its driver lost control on a sharp bend and the bus rolled down a slope of about 40 metres.\nPolice captain Ruben Quispe said the passengers included visitors from Chile, Germany and the United States, and that most of them were taken to the regional hospital in Urubamba.\nLocal media showed images of the bus lying on its side in a field of maize while rescuers carried the wounded up to the road on stretchers.\nThe regional health director, Elena Mamani, said late on Tuesday that two German women had been flown to a clinic in Lima with head injuries.\nProsecutors have opened an investigation into the driver, who was detained after the crash.", 240),
        ],
        &[&["bulletin", "update"]],
        &[&["bulletin", "update"]],
    );
}

/// republisher with captions interleaved.
#[test]
fn republisher_with_captions_interleaved() {
    check(
        &[
            ("orig", "wire", "https://wire.test/bergen-fire", "Fire destroys historic warehouse in Bergen", "A fire swept through a historic grain warehouse on the waterfront of the Norwegian city of Bergen early on Friday, sending a column of black smoke over the old harbour.\nAround 60 firefighters fought the blaze for more than five hours before bringing it under control, the city's fire service said.\nThe wooden building, which dates from the 1870s, had been empty for a decade and was due to be turned into a food market next year.\nNobody was injured, but residents of the neighbouring streets were told to keep their windows closed because of the smoke.\nPolice said it was too early to say what had caused the fire and that investigators would examine the site once it was safe to enter.", 0),
            ("repub", "portal", "https://portal.test/n/88812", "Huge blaze guts Bergen waterfront landmark", "A fire swept through a historic grain warehouse on the waterfront of the Norwegian city of Bergen early on Friday, sending a column of black smoke over the old harbour.\nAround 60 firefighters fought the blaze for more than five hours before bringing it under control, the city's fire service said.\nScroll down for video\nFirefighters on the quay on Friday morning (Photo: Nils Berg/Reuters)\nThe wooden building, which dates from the 1870s, had been empty for a decade and was due to be turned into a food market next year.\nNobody was injured, but residents of the neighbouring streets were told to keep their windows closed because of the smoke.\nPictured: smoke over the old harbour\nRead more: Norway's worst fires of the decade", 90),
        ],
        &[&["orig", "repub"]],
        &[&["orig", "repub"]],
    );
}

/// press release with an outlet's intro.
#[test]
fn press_release_with_an_outlet_s_intro() {
    check(
        &[
            ("release", "prwire", "https://prwire.test/nordlys-skelleftehamn", "Nordlys Batteries to build cell factory in Skelleftehamn", "Nordlys Batteries today announced that it will build a cell factory in the Swedish town of Skelleftehamn, creating around 900 jobs by 2028.\nThe plant will produce lithium iron phosphate cells for stationary storage, with a planned annual capacity of 12 gigawatt hours once fully operational.\n\"Skelleftehamn gives us clean power, a deep-water port and a skilled workforce,\" said Nordlys chief executive Maja Lindqvist.\nConstruction is scheduled to begin in the second quarter of next year, subject to environmental permits.\nNordlys Batteries was founded in 2019 and is headquartered in Gothenburg.", 0),
            ("outlet", "northnews", "https://northnews.test/business/nordlys", "Battery maker picks Skelleftehamn for 900-job plant", "Good news for the coast: the battery start-up that has been scouting the region since spring has made its choice.\nNordlys Batteries today announced that it will build a cell factory in the Swedish town of Skelleftehamn, creating around 900 jobs by 2028.\nThe plant will produce lithium iron phosphate cells for stationary storage, with a planned annual capacity of 12 gigawatt hours once fully operational.\n\"Skelleftehamn gives us clean power, a deep-water port and a skilled workforce,\" said Nordlys chief executive Maja Lindqvist.\nConstruction is scheduled to begin in the second quarter of next year, subject to environmental permits.\nNordlys Batteries was founded in 2019 and is headquartered in Gothenburg.", 180),
        ],
        &[&["release", "outlet"]],
        &[&["release", "outlet"]],
    );
}

/// independent write-ups sharing a quote and near-identical titles.
#[test]
fn independent_write_ups_sharing_a_quote_and_near_identical_titles() {
    check(
        &[
            ("a", "daily", "https://daily.test/moretti-rehab", "Lana Moretti enters rehab, spokesman says", "Singer Lana Moretti has checked into a residential treatment centre in Arizona, her representative confirmed on Thursday.\n\"She has decided to seek treatment and asks for privacy for herself and her family at this time,\" her spokesman Daniel Reyes said in a statement.\nThe 31-year-old cancelled the last four dates of her European tour last month, citing exhaustion.\nMoretti, whose third album topped the charts in March, has spoken in interviews about struggling with anxiety.", 0),
            ("b", "gossip", "https://gossip.test/moretti", "Lana Moretti enters rehab, says spokesman", "Pop star Lana Moretti is in rehab, according to her spokesman, weeks after she abruptly called off the end of her tour.\n\"She has decided to seek treatment and asks for privacy for herself and her family at this time,\" her spokesman Daniel Reyes said in a statement.\nFans had voiced concern online after the singer appeared unsteady during a concert in Lisbon in September.\nA source close to the singer told the magazine she had entered the clinic voluntarily.", 60),
        ],
        &[],
        &[&["a", "b"]],
    );
}

/// re-edited copy: new lede, converted figures, reworded sentences.
#[test]
fn re_edited_copy_new_lede_converted_figures_reworded_sentences() {
    check(
        &[
            ("afp", "wire", "https://wire.test/paris-heist", "Robbers ram van into Paris jeweller, escape with 3 million euros of loot", "Four men rammed a stolen van into the front of a jewellery shop on the Rue de la Paix in Paris early on Monday and escaped with watches and rings worth an estimated 3 million euros, a police source said.\nThe robbers smashed the display cases with sledgehammers, loaded the jewellery into bags and set fire to the van before fleeing in a second car, the source added.\nInvestigators from the capital's organised crime squad were examining footage from cameras in the street, which is lined with luxury boutiques.\nThe raid is the latest in a series of high-profile jewellery thefts in France, after armed men stole gems worth 40 million euros from a hotel in Cannes in July.\nIn 2019 a gang posing as delivery drivers emptied a jeweller's safe in the same district.", 0),
            ("sky", "tvnews", "https://tvnews.test/world/paris-raid", "Paris: jewellery worth 2.6m stolen in ram raid", "Thieves have stolen jewellery worth £2.6m from an upmarket shop in central Paris after driving a van through its window.\nFour men rammed a stolen van into the front of the shop on Rue de la Paix early on Monday and escaped with watches and rings, police said.\nThe robbers smashed the display cases with sledgehammers, loaded the jewellery into bags and then set fire to the van before escaping in another car.\nInvestigators from the organised crime squad were examining footage from cameras in the street, which is home to many luxury boutiques.\nIt is the latest in a string of high-profile jewellery thefts in France, after gems worth £34m were stolen from a Cannes hotel in July.", 120),
        ],
        &[&["afp", "sky"]],
        &[&["afp", "sky"]],
    );
}

/// LIMITATION heavily reworded copy (every sentence rewritten): missed.
#[test]
fn limitation_heavily_reworded_copy_every_sentence_rewritten_missed() {
    check(
        &[
            ("afp", "wire", "https://wire.test/paris-heist", "Robbers ram van into Paris jeweller, escape with 3 million euros of loot", "Four men rammed a stolen van into the front of a jewellery shop on the Rue de la Paix in Paris early on Monday and escaped with watches and rings worth an estimated 3 million euros, a police source said.\nThe robbers smashed the display cases with sledgehammers, loaded the jewellery into bags and set fire to the van before fleeing in a second car, the source added.\nInvestigators from the capital's organised crime squad were examining footage from cameras in the street, which is lined with luxury boutiques.\nThe raid is the latest in a series of high-profile jewellery thefts in France, after armed men stole gems worth 40 million euros from a hotel in Cannes in July.\nIn 2019 a gang posing as delivery drivers emptied a jeweller's safe in the same district.", 0),
            ("sky", "tvnews", "https://tvnews.test/world/paris-raid", "Paris: jewellery worth 2.6m stolen in ram raid", "Thieves have stolen jewellery worth £2.6m from an upmarket shop in central Paris after driving a van through its window.\nFour men rammed a stolen van into the front of the shop on Rue de la Paix early on Monday and escaped with watches and rings, police said.\nThe robbers smashed the cases with sledgehammers, filled bags with jewellery and then set fire to the van before escaping in another car.\nDetectives from the organised crime squad are studying footage from street cameras in the area, home to many luxury boutiques.\nIt is the latest in a string of high-profile jewellery thefts in France, after gems worth £34m were stolen from a Cannes hotel in July.", 120),
        ],
        &[],
        &[&["afp", "sky"]],
    );
}

/// two earthquakes in one week.
#[test]
fn two_earthquakes_in_one_week() {
    check(
        &[
            ("aceh", "wire", "https://wire.test/aceh-quake", "Strong quake hits Indonesia's Aceh, three dead", "A magnitude 6.1 earthquake struck the Indonesian province of Aceh on Tuesday, killing at least three people and damaging dozens of houses, officials said.\nThe quake hit inland at a depth of 10 kilometres near the town of Takengon, the US Geological Survey said.\nResidents of the provincial capital Banda Aceh ran into the streets as buildings shook for about 30 seconds.\nThe national disaster agency said no tsunami warning had been issued.", 0),
            ("aceh2", "paper", "https://paper.test/aceh", "Three killed as 6.1 quake rocks Aceh", "A magnitude 6.1 earthquake struck the Indonesian province of Aceh on Tuesday, killing at least three people and damaging dozens of houses, officials said.\nThe quake hit inland at a depth of 10 kilometres near the town of Takengon, the US Geological Survey said.\nResidents of the provincial capital Banda Aceh ran into the streets as buildings shook for about 30 seconds.", 60),
            ("palu", "wire", "https://wire.test/palu-quake", "Quake injures 12 on Indonesia's Sulawesi", "A magnitude 5.4 earthquake shook the island of Sulawesi on Saturday, injuring 12 people in the city of Palu, the disaster agency said.\nThe tremor was centred 25 kilometres north of Palu at a depth of 18 kilometres, according to the meteorology agency BMKG.\nSeveral shops and a mosque suffered cracked walls, and patients were briefly moved out of a hospital as a precaution.\nIndonesia sits on the Pacific Ring of Fire and is regularly hit by earthquakes.", 5760),
        ],
        &[&["aceh", "aceh2"]],
        &[&["aceh", "aceh2"]],
    );
}

/// title-only entries.
#[test]
fn title_only_entries() {
    check(
        &[
            ("t1", "radio", "https://radio.test/news/4411", "Fire destroys historic warehouse in Bergen", "", 0),
            ("t2", "tv", "https://tv.test/bergen-fire", "Fire destroys historic warehouse in Bergen", "", 30),
            ("t1again", "radio", "https://radio.test/news/4411?utm_source=rss", "Fire destroys historic warehouse in Bergen", "", 45),
            ("full", "wire", "https://wire.test/bergen-fire", "Fire destroys historic warehouse in Bergen", "A fire swept through a historic grain warehouse on the waterfront of the Norwegian city of Bergen early on Friday, sending a column of black smoke over the old harbour.\nAround 60 firefighters fought the blaze for more than five hours before bringing it under control, the city's fire service said.\nThe wooden building, which dates from the 1870s, had been empty for a decade and was due to be turned into a food market next year.\nNobody was injured, but residents of the neighbouring streets were told to keep their windows closed because of the smoke.\nPolice said it was too early to say what had caused the fire and that investigators would examine the site once it was safe to enter.", 50),
        ],
        &[&["t1", "t1again"]],
        &[&["t1", "t1again", "t2", "full"]],
    );
}

/// one outlet re-sends an entry under a new guid; a rolling page carries a new story.
#[test]
fn one_outlet_re_sends_an_entry_under_a_new_guid_a_rolling_page_carries_a_new_story() {
    check(
        &[
            ("v1", "paper", "https://paper.test/live/bergen", "Fire at Bergen warehouse", "A fire swept through a historic grain warehouse on the waterfront of the Norwegian city of Bergen early on Friday, sending a column of black smoke over the old harbour.\nAround 60 firefighters fought the blaze for more than five hours before bringing it under control, the city's fire service said.\nThe wooden building, which dates from the 1870s, had been empty for a decade and was due to be turned into a food market next year.", 0),
            ("v2", "paper", "https://paper.test/live/bergen?ref=rss", "Fire at Bergen warehouse under control", "A fire swept through a historic grain warehouse on the waterfront of the Norwegian city of Bergen early on Friday, sending a column of black smoke over the old harbour.\nAround 60 firefighters fought the blaze for more than five hours before bringing it under control, the city's fire service said.\nThe wooden building, which dates from the 1870s, had been empty for a decade and was due to be turned into a food market next year.\nNobody was injured, but residents of the neighbouring streets were told to keep their windows closed because of the smoke.\nPolice said it was too early to say what had caused the fire and that investigators would examine the site once it was safe to enter.", 120),
            ("v3", "paper", "https://paper.test/live/bergen", "Bergen fire: police question night watchman", "Police in Bergen on Saturday questioned a night watchman who had reported seeing two people near the empty warehouse shortly before the fire broke out.\nInvestigators said the blaze started on the ground floor and spread quickly through the dry timber of the 1870s building.\nThe owner, a property company, said it would decide in the coming weeks whether the facade could be saved.", 1600),
        ],
        &[&["v1", "v2"]],
        &[&["v1", "v2", "v3"]],
    );
}

/// aggregator feed with several outlets' copies.
#[test]
fn aggregator_feed_with_several_outlets_copies() {
    check(
        &[
            ("src", "wire", "https://wire.test/bergen-fire", "Fire destroys historic warehouse in Bergen", "A fire swept through a historic grain warehouse on the waterfront of the Norwegian city of Bergen early on Friday, sending a column of black smoke over the old harbour.\nAround 60 firefighters fought the blaze for more than five hours before bringing it under control, the city's fire service said.\nThe wooden building, which dates from the 1870s, had been empty for a decade and was due to be turned into a food market next year.\nNobody was injured, but residents of the neighbouring streets were told to keep their windows closed because of the smoke.\nPolice said it was too early to say what had caused the fire and that investigators would examine the site once it was safe to enter.", 0),
            ("agg1", "hub", "https://alpha.test/bergen-fire", "Fire destroys historic warehouse in Bergen", "A fire swept through a historic grain warehouse on the waterfront of the Norwegian city of Bergen early on Friday, sending a column of black smoke over the old harbour.\nAround 60 firefighters fought the blaze for more than five hours before bringing it under control, the city's fire service said.\nThe wooden building, which dates from the 1870s, had been empty for a decade and was due to be turned into a food market next year.\nNobody was injured, but residents of the neighbouring streets were told to keep their windows closed because of the smoke.", 20),
            ("agg2", "hub", "https://beta.test/2026/bergen", "Historic Bergen warehouse destroyed by fire", "A fire swept through a historic grain warehouse on the waterfront of the Norwegian city of Bergen early on Friday, sending a column of black smoke over the old harbour.\nAround 60 firefighters fought the blaze for more than five hours before bringing it under control, the city's fire service said.\nThe wooden building, which dates from the 1870s, had been empty for a decade and was due to be turned into a food market next year.\nNobody was injured, but residents of the neighbouring streets were told to keep their windows closed because of the smoke.\nPolice said it was too early to say what had caused the fire and that investigators would examine the site once it was safe to enter.", 25),
            ("agg3", "hub", "https://gamma.test/x/991", "Bergen: fire destroys warehouse", "A fire swept through a historic grain warehouse on the waterfront of the Norwegian city of Bergen early on Friday, sending a column of black smoke over the old harbour.\nAround 60 firefighters fought the blaze for more than five hours before bringing it under control, the city's fire service said.\nThe wooden building, which dates from the 1870s, had been empty for a decade and was due to be turned into a food market next year.", 30),
            ("other", "hub", "https://delta.test/quake", "Strong quake hits Indonesia's Aceh, three dead", "A magnitude 6.1 earthquake struck the Indonesian province of Aceh on Tuesday, killing at least three people and damaging dozens of houses, officials said.\nThe quake hit inland at a depth of 10 kilometres near the town of Takengon, the US Geological Survey said.\nResidents of the provincial capital Banda Aceh ran into the streets as buildings shook for about 30 seconds.\nThe national disaster agency said no tsunami warning had been issued.", 35),
        ],
        &[&["src", "agg1", "agg2", "agg3"]],
        &[&["src", "agg1", "agg2", "agg3"]],
    );
}

/// one outlet's follow-up reusing its own background.
#[test]
fn one_outlet_s_follow_up_reusing_its_own_background() {
    check(
        &[
            ("first", "paper", "https://paper.test/bus-crash", "Bus with tourists overturns in Peru, 25 hurt", "A bus carrying foreign tourists overturned on a mountain road near the Peruvian town of Ollantaytambo on Tuesday, injuring 25 people, police said.\nThe vehicle was travelling from Cusco to the Machu Picchu railway station when its driver lost control on a sharp bend and the bus rolled down a slope of about 40 metres.\nPolice captain Ruben Quispe said the passengers included visitors from Chile, Germany and the United States, and that most of them were taken to the regional hospital in Urubamba.\nLocal media showed images of the bus lying on its side in a field of maize while rescuers carried the wounded up to the road on stretchers.", 0),
            ("follow", "paper", "https://paper.test/bus-driver-charged", "Driver of overturned tourist bus charged in Peru", "Prosecutors in Peru charged the driver of a tourist bus that overturned near Ollantaytambo with causing injury by negligence on Thursday.\nThe vehicle was travelling from Cusco to the Machu Picchu railway station when its driver lost control on a sharp bend and the bus rolled down a slope of about 40 metres.\nPolice captain Ruben Quispe said the passengers included visitors from Chile, Germany and the United States, and that most of them were taken to the regional hospital in Urubamba.\nLocal media showed images of the bus lying on its side in a field of maize while rescuers carried the wounded up to the road on stretchers.", 2880),
        ],
        &[],
        &[&["first", "follow"]],
    );
}

/// templated briefs with other figures.
#[test]
fn templated_briefs_with_other_figures() {
    check(
        &[
            (
                "acme",
                "wire",
                "https://wire.test/acme-q1",
                "Acme Tool Corp 1st Qtr Net",
                "Shr 12 cts vs 10 cts\nNet 4,210,000 vs 3,560,000\nRevs 88.1 mln vs 79.4 mln",
                0,
            ),
            (
                "basix",
                "wire2",
                "https://wire2.test/basix-q1",
                "Basix Foods Inc 1st Qtr Net",
                "Shr 12 cts vs nine cts\nNet 1,180,000 vs 910,000\nRevs 20.6 mln vs 18.2 mln",
                10,
            ),
        ],
        &[],
        &[],
    );
}

/// Two halves of one wire story arrive as separate stories; the full copy
/// matches both, so the younger story is folded into the older, and
/// `story` says so for the entry that started the folded story.
#[test]
fn a_full_copy_folds_the_stories_of_its_halves_and_story_names_the_fold() {
    let lines = [
        "A fire swept through a historic grain warehouse on the waterfront of the Norwegian city of Bergen early on Friday, sending a column of black smoke over the old harbour.",
        "Around 60 firefighters fought the blaze for more than five hours before bringing it under control, the city's fire service said.",
        "The wooden building, which dates from the 1870s, had been empty for a decade and was due to be turned into a food market next year.",
        "Nobody was injured, but residents of the neighbouring streets were told to keep their windows closed because of the smoke.",
        "Police said it was too early to say what had caused the fire and that investigators would examine the site once it was safe to enter.",
        "The city council said it would hold an emergency meeting on Monday to discuss the future of the site and the safety of other wooden buildings on the quay.",
    ];
    let first = lines[..3].join("\n");
    let second = lines[3..].join("\n");
    let full = lines.join("\n");
    let store = TestStore::new();
    let base = Utc
        .with_ymd_and_hms(2026, 3, 6, 6, 0, 0)
        .single()
        .expect("date");
    let docs = [
        (
            "top",
            "https://top.test/bergen",
            "Warehouse fire in Bergen",
            first.as_str(),
            0,
        ),
        (
            "rest",
            "https://rest.test/bergen-2",
            "Bergen fire: council to meet",
            second.as_str(),
            30,
        ),
        (
            "full",
            "https://full.test/bergen-fire",
            "Fire destroys historic warehouse in Bergen",
            full.as_str(),
            60,
        ),
    ];
    let mut files = Vec::new();
    for (i, (name, link, title, text, minutes)) in docs.iter().enumerate() {
        let item = Item::new(name, title, text, base + Duration::minutes(*minutes)).link(link);
        let doc = Feed::new(name)
            .self_url(&format!("https://{name}.test/feed"))
            .items([item])
            .rss();
        let path = store.path(&format!("{i}-{name}.xml"));
        std::fs::write(&path, doc).expect("write feed");
        files.push(path.display().to_string());
    }
    // One run per document, so the halves are stories before the full copy comes.
    for file in &files {
        store.ingest([file.as_str()]).assert_ok();
    }
    let story = store.story_of("full");
    assert_eq!(
        store.story_of("top"),
        story,
        "the first half joins the full copy's story"
    );
    assert_eq!(
        store.story_of("rest"),
        story,
        "the second half joins it too"
    );
    let id = |guid: &str| store.int(&format!("SELECT id FROM entries WHERE guid = '{guid}'"));
    let (top, rest, full) = (id("top"), id("rest"), id("full"));
    let run = store.query("story", &[&story.to_string()]);
    run.assert_ok();
    let why: Vec<&str> = run.stdout.lines().filter(|l| l.contains("why:")).collect();
    assert_eq!(why.len(), 3, "{}", run.stdout);
    assert_eq!(
        why.iter()
            .filter(|l| l.contains("started the story"))
            .count(),
        1,
        "only one entry started the story: {}",
        run.stdout
    );
    let folded = why
        .iter()
        .find(|l| l.contains("folded in:"))
        .unwrap_or_else(|| panic!("no fold named: {}", run.stdout));
    assert!(
        folded.contains(&format!(
            "folded in: entry {full} matched the story it started"
        )),
        "{folded}"
    );
    // The folded story's starter is the younger half: the entry whose
    // block holds the fold.
    let lines: Vec<&str> = run.stdout.lines().collect();
    let at = lines
        .iter()
        .position(|l| l.contains("folded in:"))
        .unwrap_or_default();
    let starter = lines[..at]
        .iter()
        .rev()
        .find(|l| l.starts_with("entry "))
        .copied()
        .unwrap_or_default();
    assert!(
        starter.starts_with(&format!("entry {rest} "))
            && !starter.starts_with(&format!("entry {top} ")),
        "{}",
        run.stdout
    );
}
