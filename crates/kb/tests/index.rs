//! The index's behaviour: changes, filters, limits and hostile query text.

use hotline_kb::{ArticleDoc, ArticleIndex, Hit, KbError, Language, Query, MAX_LIMIT, MAX_TAGS};

fn article(id: i64, language: Language, title: &str, body: &str) -> ArticleDoc {
    ArticleDoc {
        id,
        title: title.to_owned(),
        body: body.to_owned(),
        category: "general".to_owned(),
        tags: Vec::new(),
        language,
        quick_reply: false,
        published: true,
    }
}

fn index_of(articles: &[ArticleDoc]) -> ArticleIndex {
    let index = ArticleIndex::in_memory().expect("index");
    for article in articles {
        index.upsert(article).expect("upsert");
    }
    index.commit().expect("commit");
    index
}

fn ids(hits: &[Hit]) -> Vec<i64> {
    hits.iter().map(|hit| hit.id).collect()
}

fn search_ids(index: &ArticleIndex, query: &Query) -> Vec<i64> {
    ids(&index.search(query).expect("search"))
}

#[test]
fn upsert_replaces_the_article_with_the_same_id() {
    let index = index_of(&[article(1, Language::En, "Refund policy", "Thirty days.")]);
    index
        .upsert(&article(1, Language::En, "Warranty terms", "Two years."))
        .expect("upsert");
    // Staged, not yet visible.
    assert_eq!(search_ids(&index, &Query::new("refund")), [1]);
    index.commit().expect("commit");
    assert_eq!(index.len(), 1);
    assert!(search_ids(&index, &Query::new("refund")).is_empty());
    let hits = index.search(&Query::new("warranty")).expect("search");
    assert_eq!(ids(&hits), [1]);
    assert_eq!(hits[0].title, "Warranty terms");
    assert_eq!(hits[0].snippet, "Two years.");
}

#[test]
fn remove_and_clear_remove() {
    let index = index_of(&[
        article(1, Language::En, "Refund policy", "Thirty days."),
        article(2, Language::En, "Refund timing", "Five days."),
    ]);
    index.remove(1);
    index.remove(99);
    index.commit().expect("commit");
    assert_eq!(search_ids(&index, &Query::new("refund")), [2]);
    assert_eq!(index.len(), 1);
    index.clear().expect("clear");
    index.commit().expect("commit");
    assert!(index.is_empty());
    assert!(search_ids(&index, &Query::new("refund")).is_empty());
}

#[test]
fn unpublished_articles_are_excluded_by_default() {
    let mut draft = article(2, Language::En, "Refund policy draft", "Draft text.");
    draft.published = false;
    let index = index_of(&[article(1, Language::En, "Refund policy", "Text."), draft]);
    assert_eq!(search_ids(&index, &Query::new("refund")), [1]);
    let mut all = Query::new("refund");
    all.published_only = false;
    let mut found = search_ids(&index, &all);
    found.sort_unstable();
    assert_eq!(found, [1, 2]);
    assert_eq!(index.len(), 2);
}

#[test]
fn the_language_filter_keeps_one_language() {
    let index = index_of(&[
        article(1, Language::Zh, "退款政策 refund", "七天无理由退货。"),
        article(2, Language::En, "Refund policy", "Thirty days."),
    ]);
    let mut query = Query::new("refund 退款");
    assert_eq!(search_ids(&index, &query).len(), 2);
    query.language = Some(Language::Zh);
    assert_eq!(search_ids(&index, &query), [1]);
    query.language = Some(Language::En);
    assert_eq!(search_ids(&index, &query), [2]);
}

#[test]
fn the_quick_replies_and_category_filters() {
    let mut quick = article(1, Language::En, "Refund timing", "Five days.");
    quick.quick_reply = true;
    quick.category = "Refunds".to_owned();
    let index = index_of(&[
        quick,
        article(2, Language::En, "Refund policy", "Thirty days."),
    ]);
    let mut query = Query::new("refund");
    query.quick_replies_only = true;
    assert_eq!(search_ids(&index, &query), [1]);
    let mut query = Query::new("refund");
    query.category = Some("REFUNDS".to_owned());
    assert_eq!(search_ids(&index, &query), [1]);
    query.category = Some("general".to_owned());
    assert_eq!(search_ids(&index, &query), [2]);
}

#[test]
fn a_title_match_outranks_a_body_match() {
    let index = index_of(&[
        article(
            1,
            Language::En,
            "Delivery times",
            "About invoices and other paperwork.",
        ),
        article(
            2,
            Language::En,
            "Invoices",
            "About delivery times and other things.",
        ),
    ]);
    assert_eq!(search_ids(&index, &Query::new("invoice")), [2, 1]);
    let index = index_of(&[
        article(1, Language::Zh, "配送时效", "关于发票和其他单据的说明。"),
        article(2, Language::Zh, "发票", "关于配送时效和其他事项的说明。"),
    ]);
    assert_eq!(search_ids(&index, &Query::new("发票")), [2, 1]);
}

#[test]
fn empty_and_garbage_queries_find_nothing_without_error() {
    let index = index_of(&[article(
        1,
        Language::En,
        "Refund policy",
        "Thirty days (or more).",
    )]);
    for text in [
        "",
        "   ",
        "AND OR ((",
        "***",
        "\"",
        "title:refund^",
        "[1 TO *]",
        "？？？",
        "\u{0}",
        "((((((((((",
        "-",
        "+",
        "~2",
    ] {
        let result = index.search(&Query::new(text));
        assert!(result.is_ok(), "{text:?}: {result:?}");
        if text != "title:refund^" {
            assert!(result.unwrap().is_empty(), "{text:?}");
        }
    }
    // Syntax around real words is punctuation: the words still count.
    assert_eq!(search_ids(&index, &Query::new("refund AND (policy")), [1]);
    assert_eq!(search_ids(&index, &Query::new("title:refund^")), [1]);
}

#[test]
fn long_queries_and_limits_are_capped() {
    let articles: Vec<ArticleDoc> = (0..(MAX_LIMIT as i64 + 10))
        .map(|id| article(id, Language::En, "Refund", "Refund."))
        .collect();
    let index = index_of(&articles);
    let mut query = Query::new("refund");
    query.limit = 1_000;
    assert_eq!(index.search(&query).expect("search").len(), MAX_LIMIT);
    query.limit = 0;
    assert!(index.search(&query).expect("search").is_empty());
    // A word beyond the first 200 characters does not count.
    let long = format!("{} refund", "x ".repeat(200));
    assert!(index.search(&Query::new(long)).expect("search").is_empty());
    let long = format!("refund {}", "退款".repeat(10_000));
    assert!(!index.search(&Query::new(long)).expect("search").is_empty());
}

#[test]
fn an_article_over_a_limit_is_refused_and_the_old_version_stays() {
    let index = index_of(&[article(7, Language::En, "Refund policy", "Text.")]);
    let mut bad = article(7, Language::En, "Warranty", "Text.");
    bad.tags = (0..=MAX_TAGS).map(|n| format!("tag{n}")).collect();
    match index.upsert(&bad) {
        Err(KbError::ArticleTooLarge { id: 7, field, .. }) => assert_eq!(field, "tags (count)"),
        other => panic!("{other:?}"),
    }
    index.commit().expect("commit");
    assert_eq!(search_ids(&index, &Query::new("refund")), [7]);
}

#[test]
fn suggestions_by_tag_are_exact_published_and_best_first() {
    let mut both = article(1, Language::Zh, "信用卡挂失", "立即挂失。");
    both.tags = vec!["信用卡".to_owned(), "挂失".to_owned()];
    let mut one = article(2, Language::Zh, "信用卡分期", "账单分期。");
    one.tags = vec!["信用卡".to_owned(), "分期".to_owned()];
    let mut draft = article(3, Language::Zh, "信用卡挂失（草稿）", "草稿。");
    draft.tags = vec!["信用卡".to_owned(), "挂失".to_owned()];
    draft.published = false;
    let mut english = article(4, Language::En, "Lost card", "Freeze it.");
    english.tags = vec!["Lost-Card".to_owned()];
    let index = index_of(&[both, one, draft, english]);

    let need = ["挂失".to_owned(), "信用卡".to_owned(), "挂失".to_owned()];
    let hits = index.suggest_for_tags(&need, None, 10).expect("suggest");
    assert_eq!(ids(&hits), [1, 2]);
    assert_eq!(hits[0].snippet, "立即挂失。");
    // A tag is a label, not words: a part of one does not match.
    assert!(index
        .suggest_for_tags(&["信用".to_owned()], None, 10)
        .expect("suggest")
        .is_empty());
    let hits = index
        .suggest_for_tags(&["lost-card".to_owned()], Some(Language::En), 10)
        .expect("suggest");
    assert_eq!(ids(&hits), [4]);
    let hits = index
        .suggest_for_tags(&["lost-card".to_owned()], Some(Language::Zh), 10)
        .expect("suggest");
    assert!(hits.is_empty());
    assert!(index
        .suggest_for_tags(&[], None, 10)
        .expect("suggest")
        .is_empty());
    assert!(index
        .suggest_for_tags(&["信用卡".to_owned()], None, 0)
        .expect("suggest")
        .is_empty());
}

#[test]
fn an_index_on_disk_survives_reopening() {
    let directory = tempfile::tempdir().expect("temporary directory");
    let path = directory.path().join("kb");
    {
        let index = ArticleIndex::open_in_dir(&path).expect("open");
        index
            .upsert(&article(5, Language::En, "Roaming charges", "Daily pass."))
            .expect("upsert");
        index.commit().expect("commit");
    }
    let index = ArticleIndex::open_in_dir(&path).expect("reopen");
    assert_eq!(index.len(), 1);
    assert_eq!(search_ids(&index, &Query::new("roaming")), [5]);
}

#[test]
fn a_second_writer_on_the_same_directory_is_an_error() {
    let directory = tempfile::tempdir().expect("temporary directory");
    let _first = ArticleIndex::open_in_dir(directory.path()).expect("open");
    let second = ArticleIndex::open_in_dir(directory.path());
    assert!(matches!(second, Err(KbError::Index(_))), "{second:?}");
}

#[test]
fn one_index_can_be_shared_between_threads() {
    fn shareable<T: Send + Sync>() {}
    shareable::<ArticleIndex>();
    let index = std::sync::Arc::new(index_of(&[article(1, Language::En, "Refund", "Text.")]));
    let searcher = {
        let index = std::sync::Arc::clone(&index);
        std::thread::spawn(move || search_ids(&index, &Query::new("refund")))
    };
    index
        .upsert(&article(2, Language::En, "Refund timing", "Text."))
        .expect("upsert");
    index.commit().expect("commit");
    assert_eq!(searcher.join().expect("search thread"), [1]);
    assert_eq!(search_ids(&index, &Query::new("refund")).len(), 2);
}
