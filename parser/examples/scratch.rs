fn main() {
    let input = format!("{}x zzz {}", "a pr and ".repeat(20), "b pr and ".repeat(20));
    let out = scim_parser::parse_filter(&input).unwrap_err().render(&input);
    let lines: Vec<&str> = out.lines().collect();
    let col = lines[1].chars().position(|c| c == 'z').unwrap();
    let caret = lines[2].chars().position(|c| c == '^').unwrap();
    println!("{col} {caret}");
}
