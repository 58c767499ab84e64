//! Feed autodiscovery through the binary: a URL that answers with a web
//! page is read through the feeds the page links to (`ingest`, `parse`),
//! or offers them to choose from (`feeds add`); a page that links none is
//! tried at the common feed paths of its site.

use crate::common::feeds::templated;
use crate::common::server::{Response, Server};
use crate::common::{feedfold, run, Run, TestStore};

/// The paths tried on a page's site when it links no feed, as messages list them.
const TRIED: &str = "/feed, /rss, /atom.xml, /feed.xml, /rss.xml, /index.xml";

/// A web page whose head holds `links`.
fn page(links: &str) -> Response {
    Response::ok(format!(
        "<!DOCTYPE html>\n<html><head><title>World news</title>\n{links}\n</head>\
         <body><p>Today's stories.</p></body></html>\n"
    ))
    .header("Content-Type", "text/html; charset=utf-8")
}

/// One site: pages linking two feeds, one feed and none, its feeds, and
/// a feed at `/feed` that no page links.
fn site() -> Server {
    let rss = templated("World RSS", &[("r1", "Budget vote one")]).rss();
    let atom = templated("World Atom", &[("a1", "Bridge plan two")]).atom();
    let only = templated("Only feed", &[("o1", "Ferry strike three")]).rss();
    let hidden = templated("Hidden feed", &[("h1", "Harbour works four")]).rss();
    Server::routes([
        (
            "/two.html",
            vec![page(
                "<link rel=\"alternate\" type=\"application/rss+xml\" title=\"World RSS\" href=\"/rss.xml\">\n\
                 <link rel=\"alternate\" type=\"application/atom+xml\" title=\"World Atom\" href=\"/atom.xml\">",
            )],
        ),
        (
            "/one.html",
            vec![page(
                "<link rel=\"alternate\" type=\"application/rss+xml\" href=\"only.xml\">",
            )],
        ),
        ("/nolink.html", vec![page("")]),
        ("/rss.xml", vec![Response::ok(rss)]),
        ("/atom.xml", vec![Response::ok(atom)]),
        ("/only.xml", vec![Response::ok(only)]),
        ("/feed", vec![Response::ok(hidden)]),
    ])
}

fn ff(args: &[&str]) -> Run {
    run(feedfold().args(args), None)
}

#[test]
fn ingest_and_parse_read_the_first_feed_a_page_links() {
    let site = site();
    let page_url = site.url("/two.html");
    let rss = site.url("/rss.xml");
    let warning = format!(
        "{page_url} is a web page; read the feed it links to, {rss} \
         (it links 1 more: `feedfold parse` shows each)"
    );
    let store = TestStore::new();
    let r = store.ingest([&page_url]);
    r.assert_ok();
    assert_eq!(
        r.stderr.trim_end(),
        format!("feedfold: warning: {page_url}: {warning}")
    );
    assert!(
        r.stdout
            .starts_with(&format!("{page_url}: 1 new, 0 updated, 0 unchanged")),
        "{}",
        r.stdout
    );
    assert!(r.stdout.contains(&format!("(feed {rss})")), "{}", r.stdout);
    assert_eq!(
        store.entry_text("r1", "title").as_deref(),
        Some("Budget vote one")
    );
    assert_eq!(store.int("SELECT count(*) FROM entries"), 1);
    assert_eq!((site.hits("/rss.xml"), site.hits("/atom.xml")), (1, 0));

    let parse = ff(&["parse", &page_url]);
    parse.assert_ok();
    assert!(
        parse.stdout.contains(&format!("warning:  {warning}")),
        "{}",
        parse.stdout
    );
    assert!(
        parse.stdout.contains("title:    World RSS"),
        "{}",
        parse.stdout
    );
}

#[test]
fn feeds_add_lists_the_feeds_of_a_page_with_several_and_subscribes_to_none() {
    let site = site();
    let page_url = site.url("/two.html");
    let store = TestStore::new();
    let db = store.db.display().to_string();
    let add = ff(&["feeds", "add", "--db", &db, &page_url]);
    assert_eq!(add.code, Some(1), "{add:?}");
    assert_eq!(
        add.stdout,
        format!(
            "{page_url} is a web page that links 2 feeds; add the one you want:\n\
             \x20 feedfold feeds add {}    # rss World RSS\n\
             \x20 feedfold feeds add {}    # atom World Atom\n",
            site.url("/rss.xml"),
            site.url("/atom.xml")
        )
    );
    assert_eq!(add.stderr, "");
    let list = ff(&["feeds", "list", "--db", &db]);
    list.assert_ok();
    assert_eq!(
        list.stdout.trim(),
        "no feeds: add some with `feedfold feeds add URL` or [[feeds]] in the config"
    );
}

#[test]
fn feeds_add_subscribes_to_the_one_feed_a_page_links() {
    let site = site();
    let page_url = site.url("/one.html");
    let feed = site.url("/only.xml");
    let store = TestStore::new();
    let db = store.db.display().to_string();
    let add = ff(&["feeds", "add", "--db", &db, &page_url]);
    add.assert_ok();
    assert_eq!(
        add.stdout,
        format!(
            "{page_url} is a web page; subscribing to the feed it links to: {feed}\n\
             {page_url}: added\n"
        )
    );
    let urls: Vec<String> = store
        .conn()
        .prepare("SELECT url FROM subscriptions")
        .expect("prepare")
        .query_map([], |r| r.get(0))
        .expect("query")
        .collect::<Result<_, _>>()
        .expect("rows");
    assert_eq!(urls, std::slice::from_ref(&feed));
    let list = ff(&["feeds", "list", "--db", &db]);
    assert!(
        list.stdout
            .starts_with(&format!("   1  new      cli     {feed}")),
        "{}",
        list.stdout
    );
}

#[test]
fn a_page_that_links_no_feed_is_read_through_a_common_path() {
    let site = site();
    let page_url = site.url("/nolink.html");
    let feed = site.url("/feed");
    let store = TestStore::new();
    let r = store.ingest([&page_url]);
    r.assert_ok();
    assert_eq!(
        r.stderr.trim_end(),
        format!(
            "feedfold: warning: {page_url}: {page_url} is a web page; read the feed it links to, {feed}"
        )
    );
    assert!(r.stdout.contains(&format!("(feed {feed})")), "{}", r.stdout);
    assert_eq!(
        store.entry_text("h1", "title").as_deref(),
        Some("Harbour works four")
    );
    // Found at the first path tried; the others were not asked.
    assert_eq!(site.hits("/rss"), 0);
    // feeds add finds it the same way.
    let db = store.db.display().to_string();
    let add = ff(&["feeds", "add", "--db", &db, &page_url]);
    add.assert_ok();
    assert_eq!(
        add.stdout,
        format!(
            "{page_url} is a web page; subscribing to the feed it links to: {feed}\n\
             {page_url}: added\n"
        )
    );
    assert_eq!(store.int("SELECT count(*) FROM subscriptions"), 1);
}

#[test]
fn a_page_without_any_feed_says_so_and_names_the_paths_tried() {
    let site = Server::routes([("/page.html", vec![page("")])]);
    let page_url = site.url("/page.html");
    let store = TestStore::new();
    let r = store.ingest([&page_url]);
    assert_eq!(r.code, Some(1), "{r:?}");
    assert_eq!(
        r.stderr.trim_end(),
        format!(
            "feedfold: error: {page_url}: this is a web page, not a feed, and it links no feed (nor does {TRIED})"
        )
    );
    assert!(r.total().starts_with("total: 1 sources (1 failed)"));
    for path in TRIED.split(", ") {
        assert_eq!(site.hits(path), 1, "{path} tried once");
    }

    let db = store.db.display().to_string();
    let add = ff(&["feeds", "add", "--db", &db, &page_url]);
    assert_eq!(add.code, Some(1), "{add:?}");
    assert_eq!(
        add.stderr.trim_end(),
        format!(
            "feedfold: error: {page_url} is a web page, not a feed, and it links no feed (nor do {TRIED} on its site)"
        )
    );
    assert_eq!(store.int("SELECT count(*) FROM subscriptions"), 0);
}
