# Checks files written by the script: text, binary, a new subdirectory, appending, and modifying a shipped file.
import os

with open("out_text.txt", "w", encoding="utf-8") as f:
    f.write("hello\nünïcode ✓\n")
with open("out_crlf.txt", "w", newline="\r\n") as f:
    f.write("windows\nline endings\n")
with open("out_bin.dat", "wb") as f:
    f.write(bytes(range(256)))
os.makedirs("out_dir/nested", exist_ok=True)
with open("out_dir/nested/deep.txt", "x") as f:
    f.write("deep file\n")
with open("out_text.txt", "a") as f:
    f.write("appended line\n")
with open("_data/append_me.txt", "a") as f:
    f.write("line appended by files_written.py\n")
with open("out_text.txt") as f:
    print(f.read(), end="")
print(sorted(os.listdir("out_dir")), os.path.getsize("out_bin.dat"))
with open("out_crlf.txt") as f:
    print("default text encoding:", f.encoding)
