# Checks input() on an empty stdin without handling: prompt is written, then an EOFError traceback.
print("asking")
answer = input("your name? ")
print("not reached", answer)
