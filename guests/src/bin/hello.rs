fn main() {
    let args: Vec<String> = std::env::args().collect();
    println!("hello {:?}", args);
    eprintln!("to stderr");
    std::thread::sleep(std::time::Duration::from_millis(5));
    std::fs::write("x.txt", b"abc").unwrap();
    std::process::exit(3);
}
