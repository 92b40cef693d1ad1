//! The thread's spare arena (`filter.rs`, `SPARE_ARENA`): a dropped tree's node vector is
//! kept for the next parse on the thread that drops it. Checked here with a counting global
//! allocator: the steady state of parse-and-drop allocates nothing, nothing is kept beyond
//! one bounded vector per live thread (trees moved across threads, dropped during a panic
//! or during thread teardown, huge trees), and recycling never changes a tree that is still
//! alive.
//!
//! The allocator counts for the whole process, so this binary has one test that runs the
//! scenarios one after another, each on threads of its own.

use scim_parser::filter::{parse_filter_ref, parse_filter_ref_with, FilterRef};
use scim_parser::{parse_filter, parse_filter_with, ParseOptions};
use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::{Cell, RefCell};
use std::sync::atomic::{AtomicIsize, Ordering};
use std::sync::mpsc;

/// Counts live bytes for the process and allocations per thread.
struct Counting;

static LIVE: AtomicIsize = AtomicIsize::new(0);

thread_local! {
    /// Allocations made by this thread (no destructor, so safe to touch from `alloc`).
    static ALLOCS: Cell<usize> = const { Cell::new(0) };
}

fn count_alloc(size: usize) {
    LIVE.fetch_add(size as isize, Ordering::SeqCst);
    let _ = ALLOCS.try_with(|n| n.set(n.get() + 1));
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count_alloc(layout.size());
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        count_alloc(layout.size());
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size() as isize, Ordering::SeqCst);
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count_alloc(new_size);
        LIVE.fetch_sub(layout.size() as isize, Ordering::SeqCst);
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn live() -> isize {
    LIVE.load(Ordering::SeqCst)
}

fn allocs() -> usize {
    ALLOCS.with(Cell::get)
}

/// Runs `f` on a fresh thread (so no other tree is in its spare) and returns its result.
fn on_thread<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    std::thread::spawn(f).join().expect("no panic")
}

/// Filters without escapes, from one term to every construct (no allocation but the arena).
const PLAIN: [&str; 6] = [
    "userName eq \"bjensen\"",
    "a pr and b pr",
    "title pr or userType eq \"Intern\" and not (active eq false)",
    "emails[type eq \"work\" and value co \"@example.com\"] or (x gt 1 and y le -2.5e3)",
    "urn:ietf:params:scim:schemas:core:2.0:User:name.givenName sw \"B\" and members.$ref pr",
    "((a pr or b pr) and (c pr or not (d pr)))",
];

/// A filter whose arena holds about `terms * 2` nodes.
fn chain(terms: usize) -> String {
    vec!["not (a pr)"; terms].join(" or ")
}

fn unlimited() -> ParseOptions {
    ParseOptions {
        max_len: usize::MAX,
        max_terms: usize::MAX,
        ..ParseOptions::default()
    }
}

/// Once a thread has dropped one tree, parsing and dropping trees of up to that size
/// allocates nothing at all.
fn steady_state_allocates_nothing() {
    on_thread(|| {
        // warm up: the spare grows (once) to the largest reservation of the inputs
        for input in PLAIN {
            drop(parse_filter_ref(input).unwrap());
        }
        for input in PLAIN {
            let before = allocs();
            for _ in 0..100 {
                let f = parse_filter_ref(input).unwrap();
                std::hint::black_box(&f);
            }
            assert_eq!(
                allocs() - before,
                0,
                "{input:?} allocates in the steady state"
            );
        }
        // conversion to the owned tree recycles the arena too (the owned tree allocates)
        drop(parse_filter_ref(PLAIN[2]).unwrap().into_owned());
        let before = allocs();
        drop(parse_filter_ref(PLAIN[2]).unwrap());
        assert_eq!(allocs() - before, 0, "after into_owned");
    });
}

/// A parse that fails after its arena was taken gives the arena back: a server that gets
/// a bad filter now and then still allocates no arena for the good ones.
fn a_failed_parse_keeps_the_spare() {
    on_thread(|| {
        for input in PLAIN {
            drop(parse_filter_ref(input).unwrap());
        }
        // each fails after at least one node went into the arena
        for bad in [
            "a pr and b eq bob",
            "a pr or (b pr and c pr",
            "x[a pr and b pr",
            "not (a pr) and b eq 01",
            "a pr and b pr c",
        ] {
            assert!(parse_filter_ref(bad).is_err());
            let before = allocs();
            drop(parse_filter_ref(PLAIN[3]).unwrap());
            assert_eq!(allocs() - before, 0, "the parse after {bad:?} allocates");
        }
        // the same for a PATCH path whose filter fails
        assert!(scim_parser::parse_patch_path("emails[a pr and b eq bob]").is_err());
        let before = allocs();
        drop(parse_filter_ref(PLAIN[3]).unwrap());
        assert_eq!(
            allocs() - before,
            0,
            "the parse after a bad PATCH path allocates"
        );
    });
}

/// Live bytes after `f` has run on its threads and they have ended.
fn leaked_by(f: impl FnOnce() + Send + 'static) -> isize {
    // settle anything std allocates once (thread bookkeeping)
    on_thread(|| drop(parse_filter_ref("a pr and b pr").unwrap()));
    let before = live();
    on_thread(f);
    live() - before
}

/// Many threads, trees moved to other threads and dropped there, each thread keeping its
/// own spare: once the threads end, every byte is back.
fn threads_and_moved_trees_leak_nothing() {
    // leaked before counting starts: the trees sent across threads borrow it
    let big: &'static str = Box::leak(chain(400).into_boxed_str());
    let leaked = leaked_by(move || {
        let (tx, rx) = mpsc::channel::<(FilterRef<'static>, String)>();
        // producers parse (reusing their spares) and send the trees away
        let producers: Vec<_> = (0..8)
            .map(|t| {
                let tx = tx.clone();
                std::thread::spawn(move || {
                    for i in 0..50 {
                        let input = if (i + t) % 5 == 0 { big } else { PLAIN[i % 6] };
                        let tree = parse_filter_ref(input).unwrap();
                        let want = parse_filter(input).unwrap().to_string();
                        tx.send((tree, want)).unwrap();
                    }
                })
            })
            .collect();
        drop(tx);
        // the consumer drops them on its thread, parsing in between
        let consumer = std::thread::spawn(move || {
            let mut n = 0;
            for (tree, want) in rx {
                assert_eq!(tree.to_string(), want);
                drop(tree);
                let mine = parse_filter_ref(PLAIN[n % 6]).unwrap();
                assert_eq!(
                    mine.to_string(),
                    parse_filter(PLAIN[n % 6]).unwrap().to_string()
                );
                n += 1;
            }
            n
        });
        for p in producers {
            p.join().unwrap();
        }
        assert_eq!(consumer.join().unwrap(), 400);
    });
    assert!(
        leaked.abs() < 4096,
        "{leaked} bytes left after the threads ended"
    );
}

/// Trees kept alive while the thread parses and drops others are never recycled under
/// them: every kept tree still equals a fresh parse of its input.
fn live_trees_are_never_recycled() {
    on_thread(|| {
        let inputs: Vec<String> = (0..60)
            .map(|i| match i % 3 {
                0 => PLAIN[i % 6].to_owned(),
                1 => chain(1 + i),
                _ => format!("a{i} eq \"x\\\"{i}\" and (b pr or c{i}[d eq {i}])"),
            })
            .collect();
        let opts = unlimited();
        let mut kept: Vec<FilterRef<'_>> = Vec::new();
        for (i, input) in inputs.iter().enumerate() {
            let tree = parse_filter_ref_with(input, &opts).unwrap();
            if i % 2 == 0 {
                kept.push(tree);
            } else {
                drop(tree);
                // drop an older one too, so the spare changes hands while others live
                if kept.len() > 3 {
                    kept.remove(1);
                }
            }
        }
        for tree in &kept {
            let again = parse_filter_ref_with(&inputs[0], &opts).unwrap();
            drop(again);
            let input = inputs
                .iter()
                .find(|s| parse_filter_ref_with(s, &opts).unwrap() == *tree)
                .expect("a kept tree still equals the parse of its input");
            assert_eq!(
                tree.to_owned_filter(),
                parse_filter_with(input, &opts).unwrap()
            );
        }
    });
}

/// A tree dropped while a panic unwinds goes to the spare like any other, and the next
/// parse on the thread is right.
fn a_panicking_consumer_leaves_a_working_spare() {
    on_thread(|| {
        for input in PLAIN {
            let caught = std::panic::catch_unwind(|| {
                let tree = parse_filter_ref(input).unwrap();
                let _copy = tree.clone();
                panic!("consumer gives up on {tree}");
            });
            assert!(caught.is_err());
            let tree = parse_filter_ref(input).unwrap();
            assert_eq!(tree.clone().into_owned(), parse_filter(input).unwrap());
            assert_eq!(tree.to_owned_filter(), parse_filter(input).unwrap());
        }
    });
}

thread_local! {
    /// Trees that live until their thread ends.
    static KEPT: RefCell<Vec<FilterRef<'static>>> = const { RefCell::new(Vec::new()) };
}

/// Trees dropped by thread-local destructors, on a thread that parsed (its spare may already
/// be gone) and on one that never did (its spare is first touched during teardown): every
/// byte is back once the threads end.
fn trees_dropped_at_thread_exit_leak_nothing() {
    let big: &'static str = Box::leak(chain(300).into_boxed_str());
    let leaked = leaked_by(move || {
        let opts = unlimited();
        std::thread::spawn(move || {
            for input in PLAIN.iter().copied().chain([big]) {
                let tree = parse_filter_ref_with(input, &opts).unwrap();
                KEPT.with(|k| k.borrow_mut().push(tree));
            }
            drop(parse_filter_ref(PLAIN[1]).unwrap());
        })
        .join()
        .unwrap();
        let trees: Vec<FilterRef<'static>> = PLAIN
            .iter()
            .chain([&big])
            .map(|s| parse_filter_ref_with(s, &unlimited()).unwrap())
            .collect();
        std::thread::spawn(move || {
            KEPT.with(|k| k.borrow_mut().extend(trees));
        })
        .join()
        .unwrap();
    });
    assert!(
        leaked.abs() < 4096,
        "{leaked} bytes left after the threads ended"
    );
}

/// An arena beyond the spare's cap is freed when its tree drops, not kept.
fn huge_arenas_are_not_kept() {
    on_thread(|| {
        let input = chain(3000);
        let opts = unlimited();
        drop(parse_filter_ref("a pr and b pr").unwrap());
        let before = live();
        let tree = parse_filter_ref_with(&input, &opts).unwrap();
        let held = live() - before;
        assert!(held > 200_000, "{held} bytes for 6,000 nodes");
        drop(tree);
        let kept = live() - before;
        assert!(
            kept <= 0,
            "{kept} bytes kept after dropping a 6,000-node tree"
        );
    });
}

#[test]
fn the_spare_arena_is_bounded_and_never_changes_a_tree() {
    steady_state_allocates_nothing();
    a_failed_parse_keeps_the_spare();
    threads_and_moved_trees_leak_nothing();
    live_trees_are_never_recycled();
    a_panicking_consumer_leaves_a_working_spare();
    trees_dropped_at_thread_exit_leak_nothing();
    huge_arenas_are_not_kept();
}
