//! The HTML report in a real browser: headless Chromium (Debian's `chromium` package)
//! loads the page with a `#case-<id>` link to a failing case, runs its script, and dumps
//! the DOM. The test checks the page rendered (the script ran and marked the body ready,
//! the summary tables are there) and that the linked failure expanded (`open`), while the
//! others stayed collapsed.
//!
//! Without Chromium the test says it is skipped and why; when `CI` is set it fails instead.

use scim_conformance::cases::catalog;
use scim_conformance::report::{FileReporter, Format, Reporter};
use scim_conformance::runner::{run, RunOptions};
use scim_conformance::select::Selection;
use scim_conformance::Token;
use scim_reference_server::{spawn, Config, Fault};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn chromium() -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .flat_map(|dir| ["chromium", "chromium-browser"].map(|name| dir.join(name)))
        .find(|candidate| candidate.is_file())
}

/// Runs Chromium headless on `url` and returns the dumped DOM; kills it (by its own pid)
/// after 90 s.
fn dump_dom(browser: &Path, url: &str, profile: &Path) -> String {
    let mut child = Command::new(browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            "--virtual-time-budget=2000",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg("--dump-dom")
        .arg(url)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("chromium starts");
    let mut stdout = child.stdout.take().expect("stdout");
    let reader = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = std::io::Read::read_to_string(&mut stdout, &mut text);
        text
    });
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        if child.try_wait().expect("wait").is_some() {
            break;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("chromium did not finish within 90 s");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    reader.join().expect("reader")
}

/// The opening tag of the element with this id attribute.
fn tag_with_id<'a>(dom: &'a str, id: &str) -> &'a str {
    let needle = format!("id=\"{id}\"");
    let at = dom
        .find(&needle)
        .unwrap_or_else(|| panic!("no element {id}"));
    let start = dom[..at].rfind('<').expect("tag start");
    let end = at + dom[at..].find('>').expect("tag end");
    &dom[start..=end]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_page_renders_in_chromium_and_a_failure_expands() {
    let Some(browser) = chromium() else {
        let why = "skipped: no `chromium` on PATH (Debian: apt-get install chromium)";
        assert!(
            std::env::var_os("CI").is_none(),
            "on CI chromium must be installed: {why}"
        );
        eprintln!("{why}");
        return;
    };
    let server = spawn(Config {
        faults: vec![Fault::ErrorStatusNumber],
        ..Config::default()
    })
    .await
    .expect("server starts");
    let dir = std::env::temp_dir().join(format!("scimconf-html-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("dir");
    let page = dir.join("report.html");
    let options = RunOptions {
        base_url: server.base_url(),
        token: Some(Token::new(server.token())),
        second_token: None,
        timeout: Duration::from_secs(10),
        selection: Selection {
            only: vec!["rfc7644-3.12/*".parse().expect("selector")],
            ..Selection::default()
        },
        target_label: "reference with error-status-number".into(),
        prefix: None,
        interrupt: None,
    };
    let mut html = FileReporter::new(Format::Html, &page);
    let reporters: &mut [&mut dyn Reporter] = &mut [&mut html];
    let result = run(&catalog(), &options, reporters).await.expect("run");
    server.shutdown().await;
    let failing: Vec<&str> = result
        .cases
        .iter()
        .filter(|c| c.outcome == scim_conformance::Outcome::Fail)
        .map(|c| c.id)
        .collect();
    assert!(
        failing.len() >= 2,
        "the fault fails some cases: {failing:?}"
    );
    let target = format!("case-{}", failing[0]);
    let url = format!("file://{}#{}", page.display(), target);
    let dom = tokio::task::spawn_blocking({
        let profile = dir.join("profile");
        move || dump_dom(&browser, &url, &profile)
    })
    .await
    .expect("joined");
    assert!(
        dom.contains("data-ready=\"yes\""),
        "the page script did not run:\n{dom}"
    );
    assert!(dom.contains("<h2>By section</h2>") && dom.contains("<h2>By profile</h2>"));
    let linked = tag_with_id(&dom, &target);
    assert!(
        linked.contains(" open"),
        "the linked failure did not expand: {linked}"
    );
    let other = tag_with_id(&dom, &format!("case-{}", failing[1]));
    assert!(
        !other.contains(" open"),
        "an unlinked case expanded: {other}"
    );
    // The expanded failure holds its transcript.
    let at = dom.find(&format!("id=\"{target}\"")).expect("case");
    let block = &dom[at..at + dom[at..].find("</details>").expect("end")];
    assert!(block.contains("class=\"transcript\""), "{block}");
    assert!(
        block.contains("authorization: Bearer &lt;redacted&gt;"),
        "{block}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
