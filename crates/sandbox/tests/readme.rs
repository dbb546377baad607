//! Every route of `--help` is documented in the README, and the other way round.

use std::collections::BTreeSet;

fn routes_in(text: &str, wrapped: bool) -> BTreeSet<String> {
    let mut routes = BTreeSet::new();
    for line in text.lines() {
        for method in ["GET", "POST", "DELETE"] {
            let needle = if wrapped {
                format!("| `{method} ")
            } else {
                format!(" {method} ")
            };
            if let Some(start) = line.find(&needle) {
                let rest = &line[start + needle.len()..];
                let path: String = rest
                    .trim_start()
                    .chars()
                    .take_while(|c| !c.is_whitespace() && *c != '`' && *c != '?')
                    .collect();
                routes.insert(format!("{method} {path}"));
            }
        }
    }
    routes
}

#[test]
fn the_readme_documents_every_route_of_the_help() {
    let help = routes_in(bearer_sandbox::ROUTES, false);
    let readme = routes_in(include_str!("../README.md"), true);
    assert_eq!(help.len(), 42, "{help:#?}");
    assert_eq!(help, readme);
}
